"""Loki's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import ServiceDefinition

DEFINITION = ServiceDefinition(key="loki", dns_name="loki", tls_port=3100)
