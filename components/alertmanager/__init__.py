"""Alertmanager (its container lands with the observability issue)."""
