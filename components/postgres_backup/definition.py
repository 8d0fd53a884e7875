"""The PostgreSQL backup service's identity (pure data): see stacks/services.py."""

from stacks.services import API_KEY, SIGNING_KEY, ClientCertificate, Credential, ServiceDefinition

EGRESS_CERTIFICATE = "postgres-backup-client"

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
        # Its identity at the egress proxy (CN = its name, as an app's), which lets it reach
        # the bucket of backup.postgres.s3 and nothing else.
        ClientCertificate(EGRESS_CERTIFICATE, "postgres-backup", "egress-client-tls"),
    ),
    # Seals the off-host copies (images/postgres-backup/vos_offsite.py). Rotation writes a
    # new version in Vault and keeps the old ones, which open the copies sealed before it.
    credentials=(
        Credential("encryption-key", "backupKey", SIGNING_KEY, "seals the off-host copies"),
        # Its Weaviate user's (backup.weaviate: it may take and restore backups only),
        # rotated with Weaviate's keys, which Weaviate reads at its start.
        Credential("weaviate-api-key", "weaviate", API_KEY, "backs Weaviate up"),
    ),
    image_uid=10010,  # the barman user images/postgres-backup/Dockerfile creates
    source="images/postgres-backup",
    not_published="the backup service serves nothing: it only connects out, to PostgreSQL",
    component="components.postgres_backup.component:PostgresBackup",
    # A new key reaches it as a new file, so the service is replaced: the slot keeps every
    # WAL record meanwhile, and copies sealed before keep opening with the old version.
    restarts={"backupKey": ("postgres-backup-server",)},
)
