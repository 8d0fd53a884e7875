"""The blackbox exporter's identity (pure data): see stacks/services.py."""

from stacks.services import ServiceDefinition

DEFINITION = ServiceDefinition(
    key="blackboxExporter",
    dns_name="blackbox-exporter",
    tls_port=9115,
    requires=("prometheus",),
    tls_probe=False,  # demands the scrape identity; Prometheus's `up` covers it
    image_uid=65534,  # nobody (TCP and TLS probes need no privilege; ICMP is not used)
    component="components.blackbox_exporter.component:BlackboxExporter",
)
