"""Alloy's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import ServiceDefinition

DEFINITION = ServiceDefinition(key="alloy", dns_name="alloy", tls_port=12345, requires=("loki",))
