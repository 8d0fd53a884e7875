"""Weaviate's identity (pure data): see stacks/services.py."""

from stacks.services import API_KEY, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="weaviate",
    dns_name="weaviate",
    tls_port=8443,
    metrics_port=2112,
    image_uid=0,  # the image runs as root; all capabilities are dropped
    credentials=(
        Credential("admin-api-key", "weaviate", API_KEY, "Weaviate administrator"),
        Credential("reader-api-key", "weaviate", API_KEY, "read-only Weaviate user"),
    ),
    per_consumer=(Credential("weaviate-api-key", "weaviate", API_KEY, "own Weaviate user"),),
    component="components.weaviate.component:Weaviate",
    # Weaviate reads API keys at start only: it restarts on its data volume with new keys,
    # and the roles job (which logs in with the admin key) runs again.
    restarts={"weaviate": ("weaviate-server", "weaviate-roles", "postgres-backup-server")},
)
