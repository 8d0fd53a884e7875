"""postgres_exporter's identity (pure data): see stacks/services.py."""

from stacks.services import ClientCertificate, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="postgresExporter",
    dns_name="postgres-exporter",
    tls_port=9187,
    tls_probe=False,  # demands the scrape identity; Prometheus's `up` covers it
    requires=("postgres", "prometheus"),
    # It logs in to PostgreSQL with a certificate (pg_hba `cert`: the name is the role), so
    # there is no password to store, leak or rotate; the role has pg_monitor and nothing else.
    client_certificates=(
        ClientCertificate("postgres-monitor", "vos_monitor", "monitor-client-tls"),
    ),
    image_uid=65534,  # nobody, the official image's user
    component="components.postgres_exporter.component:PostgresExporter",
)
