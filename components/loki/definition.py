"""Loki's identity (pure data): see stacks/services.py."""

from stacks.services import ClientCertificate, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="loki",
    dns_name="loki",
    tls_port=3100,
    # Its gate (nginx, the edge's image) authorizes each caller by certificate and path;
    # the store behind it trusts the gate's identity, on a network only the two share.
    borrows_image="edge",
    client_certificates=(ClientCertificate("loki-gate", "loki-gate", "gate-client-tls"),),
    tls_probe=False,  # every caller needs a certificate; Prometheus's `up` covers the gate
    image_uid=10001,  # loki, the official image's user
    component="components.loki.component:Loki",
)
