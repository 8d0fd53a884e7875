"""The TLS edge's identity (pure data): see stacks/services.py."""

from stacks.services import ServiceDefinition

DEFINITION = ServiceDefinition(
    key="edge",
    dns_name="edge",
    tls_port=8443,
    requires=("apiGateway",),
    image_uid=101,  # the nginx user of the official image
    component="components.edge.component:Edge",
    swarm_entry=True,
)
