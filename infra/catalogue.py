"""The services the platform knows, how they are named on the network, and what they need.

Pure data: nothing here imports Pulumi. Settings validation, the PKI, the credentials and
(later) the container components all read from this one table, so a service's DNS name or
dependency is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    key: str
    """Config key under `vos-infra:services` (camelCase)."""
    dns_name: str
    """The network alias clients dial; also the server certificate's first SAN."""
    tls_port: int
    """The port of the service's main TLS endpoint inside the network."""
    requires: tuple[str, ...] = ()
    """Service keys that must be enabled for this one to work."""


SERVICES: dict[str, ServiceInfo] = {
    s.key: s
    for s in (
        ServiceInfo("postgres", "postgres", 5432),
        ServiceInfo("rabbitmq", "rabbitmq", 5671),
        ServiceInfo("weaviate", "weaviate", 8443),
        ServiceInfo("apiGateway", "api-gateway", 8443, requires=("postgres", "rabbitmq")),
        ServiceInfo("prometheus", "prometheus", 9090),
        ServiceInfo("alertmanager", "alertmanager", 9093, requires=("prometheus",)),
        ServiceInfo("grafana", "grafana", 3000, requires=("prometheus",)),
        ServiceInfo("loki", "loki", 3100),
        ServiceInfo("alloy", "alloy", 12345, requires=("loki",)),
        ServiceInfo("jaeger", "jaeger", 16686),
    )
}

AGENT_REQUIRES: tuple[str, ...] = ("postgres", "rabbitmq", "weaviate")
"""Agents keep history in PostgreSQL, talk over RabbitMQ and remember in Weaviate."""

RESERVED_AGENT_NAMES = frozenset(s.dns_name for s in SERVICES.values()) | {"vault", "admin"}


def agent_dns_name(agent_name: str) -> str:
    """`weather` -> `weather-agent`, the seed's `weather_agent` made a valid DNS name."""
    return f"{agent_name}-agent"
