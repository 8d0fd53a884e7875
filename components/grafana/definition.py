"""Grafana's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import PASSWORD, SIGNING_KEY, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="grafana",
    dns_name="grafana",
    tls_port=3000,
    requires=("prometheus",),
    credentials=(
        Credential("admin-password", "grafana", PASSWORD, "Grafana admin login"),
        Credential("secret-key", "grafana", SIGNING_KEY, "encrypts datasource secrets"),
    ),
)
