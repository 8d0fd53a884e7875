"""Which credentials the platform needs, for whom, and with what shape. Pure data.

Every value is generated (never typed by a person, never a default in code). The alphabet
is letters and digits only: such a value needs no quoting or escaping in a connection URL,
an INI/conf file, an env file or a comma-separated list (Weaviate's API-key list), so one
rule serves every place a credential lands. Lengths give at least 190 bits of entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.settings import Settings


@dataclass(frozen=True)
class CredentialSpec:
    service: str
    """DNS name of the service that uses the credential: its Vault path owner."""
    name: str
    rotation_class: str | None
    """The `vos-infra:rotation` counter that replaces it; None for a first-start-only value."""
    length: int
    purpose: str

    @property
    def resource_name(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def id(self) -> str:
        return f"{self.service}/{self.name}"


PASSWORD = 32
API_KEY = 48
SIGNING_KEY = 64


def credential_specs(settings: Settings) -> list[CredentialSpec]:
    specs: list[CredentialSpec] = []

    def add(service: str, name: str, rotation_class: str | None, length: int, purpose: str) -> None:
        specs.append(CredentialSpec(service, name, rotation_class, length, purpose))

    gateway = settings.is_enabled("apiGateway")
    consumers = (["api-gateway"] if gateway else []) + [a.dns_name for a in settings.agents]

    if settings.is_enabled("postgres"):
        # The image reads its superuser password only when it initialises an empty data
        # directory; after that the role job owns vos_admin's password (admin-password).
        # A separate, never-rotated bootstrap value keeps password rotation from
        # restarting the database server.
        add("postgres", "bootstrap-password", None, PASSWORD, "vos_admin at first start only")
        add("postgres", "admin-password", "postgres", PASSWORD, "superuser vos_admin (socket)")
        for consumer in consumers:
            add(consumer, "postgres-password", "postgres", PASSWORD, "own database role")
    if settings.is_enabled("rabbitmq"):
        add("rabbitmq", "admin-password", "rabbitmq", PASSWORD, "broker administrator")
        add("rabbitmq", "erlang-cookie", "rabbitmq", API_KEY, "Erlang distribution cookie")
        for consumer in consumers:
            add(consumer, "rabbitmq-password", "rabbitmq", PASSWORD, "own broker user")
    if settings.is_enabled("weaviate"):
        add("weaviate", "admin-api-key", "weaviate", API_KEY, "Weaviate administrator")
        add("weaviate", "reader-api-key", "weaviate", API_KEY, "read-only Weaviate user")
        for consumer in consumers:
            add(consumer, "weaviate-api-key", "weaviate", API_KEY, "own Weaviate user")
    if gateway:
        add("api-gateway", "jwt-secret", "apiGateway", SIGNING_KEY, "HS256 JWT signing key")
        add("api-gateway", "api-key", "apiGateway", API_KEY, "client API key (X-API-Key)")
        add("api-gateway", "admin-password", "apiGateway", PASSWORD, "gateway admin login")
        for agent in settings.agents:
            add(agent.dns_name, "internal-api-key", "internal", API_KEY, "agent -> gateway auth")
    if settings.is_enabled("prometheus"):
        add("prometheus", "admin-password", "prometheus", PASSWORD, "web basic auth")
    if settings.is_enabled("alertmanager"):
        add("alertmanager", "admin-password", "prometheus", PASSWORD, "web basic auth")
    if settings.is_enabled("grafana"):
        add("grafana", "admin-password", "grafana", PASSWORD, "Grafana admin login")
        add("grafana", "secret-key", "grafana", SIGNING_KEY, "encrypts datasource secrets")
    if settings.is_enabled("jaeger"):
        add("jaeger", "ui-password", "jaeger", PASSWORD, "query UI basic auth")
    return specs
