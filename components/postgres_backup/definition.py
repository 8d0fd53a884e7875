"""The PostgreSQL backup service's identity (pure data): see stacks/services.py."""

from stacks.services import ClientCertificate, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="postgresBackup",
    dns_name="postgres-backup",
    # Its metrics endpoint: what Barman did, for the backup alerts.
    tls_port=9188,
    tls_probe=False,  # demands the scrape identity; Prometheus's `up` covers it
    requires=("postgres",),
    # Barman streams WAL and takes base backups through the replication protocol, logging in
    # with a certificate (pg_hba `cert`): no password to store or rotate. Its role may
    # replicate and run the backup functions, nothing else (components/postgres/files.py).
    client_certificates=(
        ClientCertificate("postgres-streaming", "vos_backup", "backup-client-tls"),
    ),
    image_uid=10010,  # the barman user images/postgres-backup/Dockerfile creates
    source="images/postgres-backup",
    not_published="the backup service serves nothing: it only connects out, to PostgreSQL",
    component="components.postgres_backup.component:PostgresBackup",
)
