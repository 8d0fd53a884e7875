"""Jaeger's identity (pure data): see stacks/services.py."""

from stacks.services import PASSWORD, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="jaeger",
    dns_name="jaeger",
    tls_port=16686,
    # Kept for stacks that store it; the query API authenticates by certificate instead.
    credentials=(Credential("ui-password", "jaeger", PASSWORD, "query UI basic auth"),),
    tls_probe=False,  # its query API demands a telemetry reader's certificate
    image_uid=10001,  # the official image's user
    component="components.jaeger.component:Jaeger",
    not_published=(
        "Jaeger's query UI has no authentication of its own: read traces in Grafana (its "
        "Jaeger datasource), which has"
    ),
)
