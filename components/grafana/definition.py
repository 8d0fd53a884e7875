"""Grafana's identity (pure data): see stacks/services.py."""

from stacks.services import (
    PASSWORD,
    SIGNING_KEY,
    ClientCertificate,
    Credential,
    ServiceDefinition,
)

DEFINITION = ServiceDefinition(
    key="grafana",
    dns_name="grafana",
    tls_port=3000,
    requires=("prometheus",),
    credentials=(
        Credential("admin-password", "grafana", PASSWORD, "Grafana admin login"),
        # Never rotated: it encrypts the data keys of every secret Grafana stores; a new
        # one leaves them unreadable (Grafana docs, security.secret_key).
        Credential("secret-key", None, SIGNING_KEY, "encrypts Grafana's stored secrets"),
        Credential("metrics-password", "grafana", PASSWORD, "Prometheus reads /metrics"),
    ),
    # The readers CA's only identity: what Jaeger's query API and Loki's read paths accept
    # (and no metrics endpoint, which trusts the metrics CA alone).
    client_certificates=(
        ClientCertificate("grafana-reader", "grafana", "reader-client-tls", "readers"),
    ),
    image_uid=472,  # grafana, the official image's user
    component="components.grafana.component:Grafana",
    # Its provisioned datasources carry Prometheus's and Alertmanager's passwords, its
    # settings the metrics password; Prometheus reads the metrics password as a file.
    restarts={
        "grafana": ("grafana-server", "prometheus-server"),
        "prometheus": ("grafana-server",),
    },
)
