"""Grafana (its container lands with the observability issue)."""
