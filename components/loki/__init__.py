"""Loki 3: the logs store, behind a gate that lets only Alloy write and only Grafana read."""
