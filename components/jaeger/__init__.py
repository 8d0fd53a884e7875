"""Jaeger v2: traces over OTLP with TLS and client certificates, read through Grafana."""
