"""The API gateway's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import (
    API_KEY,
    PASSWORD,
    SIGNING_KEY,
    Credential,
    ServiceDefinition,
)

DEFINITION = ServiceDefinition(
    key="apiGateway",
    dns_name="api-gateway",
    tls_port=8443,
    requires=("postgres", "rabbitmq"),
    consumer=True,
    credentials=(
        Credential("jwt-secret", "apiGateway", SIGNING_KEY, "HS256 JWT signing key"),
        Credential("api-key", "apiGateway", API_KEY, "client API key (X-API-Key)"),
        Credential("admin-password", "apiGateway", PASSWORD, "gateway admin login"),
    ),
    per_agent=(Credential("internal-api-key", "internal", API_KEY, "agent -> gateway auth"),),
)
