"""Grafana Alloy (its container lands with the observability issue)."""
