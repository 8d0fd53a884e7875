"""Prometheus's identity (pure data): see stacks/services.py."""

from stacks.services import PASSWORD, ClientCertificate, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="prometheus",
    dns_name="prometheus",
    tls_port=9090,
    credentials=(Credential("admin-password", "prometheus", PASSWORD, "web basic auth"),),
    # Presented to scrape mutual-TLS endpoints, which trust only the metrics CA: another
    # service's certificate (of the platform CA) reads no metrics.
    client_certificates=(
        ClientCertificate("prometheus-scraper", "prometheus", "scraper-client-tls", "metrics"),
    ),
    image_uid=65534,  # nobody, the official image's user
    component="components.prometheus.component:Prometheus",
    # The web config carries the password's hash: the server restarts on its data volume.
    restarts={"prometheus": ("prometheus-server",)},
)
