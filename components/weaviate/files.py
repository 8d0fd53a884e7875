"""Weaviate's command, environment and key file, pure.

Rules (weaviate usecases/auth/authentication/apikey): at least one key and one user, none
empty; with several users, exactly one user per key, in the same order; values are split
on "," and never trimmed, so no spaces. Without any AUTHENTICATION_* variable Weaviate
allows anonymous access: we switch it off explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.weaviate.definition import DEFINITION
from components.weaviate.users import ADMIN_USER, WeaviateUser

HTTPS_PORT = DEFINITION.tls_port
GRPC_PORT = 50051
assert DEFINITION.metrics_port is not None
METRICS_PORT: int = DEFINITION.metrics_port
DATA = "/var/lib/weaviate"
KEYS_FILE = f"{CONFIG_DIR}/secrets/api-keys"
BINARY = "/bin/weaviate"
BACKUPS = "/var/lib/weaviate-backups"
"""Where the backups volume is mounted, in Weaviate and in the backup service alike."""
BACKUP_PATH = f"{BACKUPS}/backups"
"""BACKUP_FILESYSTEM_PATH: a folder Weaviate makes itself (the volume's root is the
engine's, root's 0755), group-writable under its umask, so the backup service, of that
group, may remove what it has copied (modules/backup-filesystem makes every folder and
file with os.ModePerm, less the umask)."""
BACKUP_BACKEND = "filesystem"
"""The backup module's name in Weaviate's API (/v1/backups/filesystem)."""


def command() -> list[str]:
    # `--scheme https` alone: no plain listener. The TLS port is explicit, else go-swagger
    # picks a random one.
    return [
        "--scheme",
        "https",
        "--tls-host",
        "0.0.0.0",  # noqa: S104 (inside the container; the network is internal)
        "--tls-port",
        str(HTTPS_PORT),
        "--tls-certificate",
        f"{TLS_DIR}/server.crt",
        "--tls-key",
        f"{TLS_DIR}/server.key",
    ]


def entrypoint(binary: str = BINARY, backups: bool = False) -> list[str]:
    """Weaviate reads API keys only from its environment; to keep them out of the container
    definition (and `docker inspect`), a shell exports them from the uploaded key file and
    replaces itself with Weaviate. With backups, its files are made group-writable (umask
    0002): the group is the backup service's (containers.py)."""
    script = (
        ("umask 0002; " if backups else "")
        + f'AUTHENTICATION_APIKEY_ALLOWED_KEYS="$(cat {KEYS_FILE})" || exit 1; '
        "export AUTHENTICATION_APIKEY_ALLOWED_KEYS; "
        f'exec {binary} "$@"'
    )
    return ["/bin/sh", "-c", script, "weaviate"]


def environment(users: Sequence[WeaviateUser], backups: bool = False) -> dict[str, str]:
    """RBAC, not the admin list: under the admin list every user that may write is an admin
    of everything. Only the platform's admin is root; every other user gets exactly the
    roles the roles job assigns (roles.py), and none until then. With backups, the
    backup-filesystem module writes them to BACKUP_PATH, for the backup service to seal and
    copy (Weaviate's own S3 module would need a way out and keys of its own, and seals
    nothing)."""
    modules = {"ENABLE_MODULES": "backup-filesystem", "BACKUP_FILESYSTEM_PATH": BACKUP_PATH}
    return {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_USERS": ",".join(u.name for u in users),
        "AUTHORIZATION_RBAC_ENABLED": "true",
        "AUTHORIZATION_RBAC_ROOT_USERS": ADMIN_USER,
        "GRPC_PORT": str(GRPC_PORT),
        "GRPC_CERT_FILE": f"{TLS_DIR}/server.crt",
        "GRPC_KEY_FILE": f"{TLS_DIR}/server.key",
        # Plain HTTP by design in Weaviate: reachable only on the internal network, never
        # published (see docs/ARCHITECTURE.md).
        "PROMETHEUS_MONITORING_ENABLED": "true",
        "PROMETHEUS_MONITORING_PORT": str(METRICS_PORT),
        "GO_PROFILING_DISABLE": "true",
        "DISABLE_TELEMETRY": "true",
        "PERSISTENCE_DATA_PATH": DATA,
        "DEFAULT_VECTORIZER_MODULE": "none",
        "ENABLE_MODULES": "",
        "CLUSTER_HOSTNAME": "node1",
        "QUERY_DEFAULTS_LIMIT": "25",
        **(modules if backups else {}),
    }


def keys_file(keys: Sequence[str]) -> str:
    """Keys in user order, comma-separated, no spaces, no newline (the shell keeps it as is)."""
    for key in keys:
        if not key or "," in key or any(c.isspace() for c in key):
            raise ValueError("a Weaviate API key must be non-empty, without commas or spaces")
    return ",".join(keys)
