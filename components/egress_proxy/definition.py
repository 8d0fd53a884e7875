"""The egress proxy's identity (pure data): see stacks/services.py."""

from stacks.services import ServiceDefinition

DEFINITION = ServiceDefinition(
    key="egressProxy",
    dns_name="egress-proxy",
    tls_port=3129,
    image_uid=13,  # the proxy user of Debian's and Ubuntu's squid packages
    component="components.egress_proxy.component:EgressProxy",
    # It demands a client certificate of the platform CA: a bare handshake fails by design.
    tls_probe=False,
    not_published="the egress proxy serves the stack's own apps only",
)
