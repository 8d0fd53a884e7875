"""The API gateway's identity (pure data): see stacks/services.py."""

from components.app.contract import APP_UID, HTTPS_PORT
from stacks.services import (
    API_KEY,
    APPROLE_CLASS,
    PASSWORD,
    SIGNING_KEY,
    ClientCertificate,
    Credential,
    ServiceDefinition,
)

DEFINITION = ServiceDefinition(
    key="apiGateway",
    dns_name="api-gateway",
    tls_port=HTTPS_PORT,
    requires=("postgres", "rabbitmq"),
    image_uid=APP_UID,
    consumer=True,
    credentials=(
        Credential("jwt-secret", "apiGateway", SIGNING_KEY, "HS256 JWT signing key"),
        # Clients outside the stack hold it: a rotation keeps the replaced key valid as
        # api-key-previous until the next one (its own class, apart from the JWT key).
        Credential("api-key", "apiKey", API_KEY, "client API key (X-API-Key)"),
        Credential(
            "api-key-previous",
            "apiKey",
            API_KEY,
            "the client API key before the last rotation: accept it too (the rollover's overlap)",
            rollover_of="api-key",
        ),
        Credential("admin-password", "apiGateway", PASSWORD, "gateway admin login"),
    ),
    # Verified by the gateway, so its Vault policy reads each agent's key as well.
    per_agent=(Credential("internal-api-key", "internal", API_KEY, "agent -> gateway auth"),),
    # Presented where a peer asks for a client certificate (the OTLP receiver).
    client_certificates=(ClientCertificate("api-gateway-client", "api-gateway", "client-tls"),),
    component="components.api_gateway.component:ApiGateway",
    # Its credentials rotate without a restart (the sidecar renders the new version); a new
    # AppRole secret id is a file of the sidecar, which is replaced to read it.
    restarts={APPROLE_CLASS: ("api-gateway-vault-agent",)},
    not_published=(
        "the gateway is reached only through the TLS edge (rate limits, request ids, "
        "security headers): publish `edge` instead"
    ),
)
