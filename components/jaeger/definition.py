"""Jaeger's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import PASSWORD, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="jaeger",
    dns_name="jaeger",
    tls_port=16686,
    credentials=(Credential("ui-password", "jaeger", PASSWORD, "query UI basic auth"),),
    not_published=(
        "Jaeger's query UI has no authentication of its own: read traces in Grafana "
        "(its Jaeger datasource), which has"
    ),
)
