"""The Weaviate server as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.weaviate import files
from components.weaviate.definition import DEFINITION
from components.weaviate.users import WeaviateUser

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
assert BACKUP.image_uid is not None
BACKUP_GID = BACKUP.image_uid
"""With backups, Weaviate's group: the backup service's, which may then read and remove
what Weaviate writes to the backups volume, and Weaviate read what a restore puts there
(Weaviate runs as root with every capability dropped: no DAC override either way)."""
BACKUPS_SUFFIX = "backups"
"""The backups volume: `<prefix>-weaviate-backups`, kept like the data volume."""
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def server_spec(
    image: str, users: Sequence[WeaviateUser], keys: Any, tls: TlsFiles, backups: bool = False
) -> ContainerSpec:
    """`backups`: its backup module on, writing to a volume of its own (`<prefix>-weaviate-
    backups`) that the backup service mounts too."""
    return ContainerSpec(
        service="weaviate",
        image=image,
        entrypoint=files.entrypoint(backups=backups),
        command=files.command(),
        user=f"{UID}:{BACKUP_GID if backups else UID}",
        env=files.environment(users, backups),
        uploads=[
            Upload(files.KEYS_FILE, keys, UID, "0400", secret=True),
            *tls.uploads(UID),
        ],
        data_volume=files.DATA,
        kept_volumes={files.BACKUPS: BACKUPS_SUFFIX} if backups else {},
        tmpfs={TMP: tmpfs_options(UID)},
        # Readiness is unauthenticated; the check runs inside the container against itself,
        # so the certificate name check adds nothing here.
        healthcheck=Healthcheck(
            [
                "wget",
                "-q",
                "-O",
                "/dev/null",
                "--no-check-certificate",
                f"https://127.0.0.1:{files.HTTPS_PORT}/v1/.well-known/ready",
            ]
        ),
        internal_ports=[files.HTTPS_PORT, files.GRPC_PORT, files.METRICS_PORT],
    )
