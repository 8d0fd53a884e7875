"""Alloy's identity (pure data): see stacks/services.py."""

from stacks.services import ClientCertificate, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="alloy",
    dns_name="alloy",
    tls_port=12345,  # its own HTTP server (UI, /metrics): the scrape identity only
    requires=("loki",),
    # The only identity Loki's gate lets push logs.
    client_certificates=(ClientCertificate("alloy-writer", "alloy", "writer-client-tls"),),
    tls_probe=False,  # demands the scrape identity; Prometheus's `up` covers it
    # root without any capability: the engine's log files are root's, mode 0640.
    image_uid=0,
    component="components.alloy.component:Alloy",
)
