"""Prometheus (its container lands with the observability issue)."""
