"""Alertmanager: routes Prometheus's alerts, behind TLS and basic auth."""
