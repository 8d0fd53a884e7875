"""Prometheus's identity (pure data): see infra/settings/services.py."""

from infra.settings.services import PASSWORD, ClientCertificate, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="prometheus",
    dns_name="prometheus",
    tls_port=9090,
    credentials=(Credential("admin-password", "prometheus", PASSWORD, "web basic auth"),),
    # Presented to scrape mutual-TLS endpoints.
    client_certificates=(
        ClientCertificate("prometheus-scraper", "prometheus", "scraper-client-tls"),
    ),
)
