"""PostgreSQL's identity (pure data): see stacks/services.py."""

from stacks.services import (
    PASSWORD,
    ClientCertificate,
    Credential,
    ServiceDefinition,
)

DEFINITION = ServiceDefinition(
    key="postgres",
    dns_name="postgres",
    tls_port=5432,
    tls_probe=False,  # TLS starts inside the PostgreSQL protocol (SSLRequest)
    image_uid=999,  # the postgres user of the official Debian-based image
    credentials=(
        # The image reads its superuser password only when it initialises an empty data
        # directory; after that the role job owns vos_admin's password (admin-password).
        # A separate, never-rotated bootstrap value keeps password rotation from
        # restarting the database server.
        Credential("bootstrap-password", None, PASSWORD, "vos_admin at first start only"),
        Credential("admin-password", "postgres", PASSWORD, "superuser vos_admin (socket)"),
    ),
    per_consumer=(Credential("postgres-password", "postgres", PASSWORD, "own database role"),),
    # The role job's admin path authenticates with a certificate, never a password.
    client_certificates=(ClientCertificate("postgres-admin", "vos_admin", "admin-client-tls"),),
    component="components.postgres.component:Postgres",
    # The server is not restarted: its one-shot role job is replaced, and so re-run.
    restarts={"postgres": ("postgres-roles",)},
)
