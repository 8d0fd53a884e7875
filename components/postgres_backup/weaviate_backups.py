"""Weaviate's backups (backup.weaviate) as parts of the backup service's container: the
entrypoint's arguments, the backup user's API key, and Weaviate's backups volume. Pure: no
resources created here.

Weaviate writes each backup to that volume with its backup-filesystem module; the backup
service asks for them on their schedule, seals each with the stack's backup key into the
same store as PostgreSQL's copies (`weaviate/<id>.tar.sealed`), and removes what the
recovery window no longer needs, there and in the volume
(images/postgres-backup/vos_weaviate.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.docker.spec import CONFIG_DIR, TLS_DIR, SharedMount, Upload
from components.postgres_backup.definition import DEFINITION
from components.weaviate import files as weaviate
from components.weaviate.definition import DEFINITION as WEAVIATE

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
KEY_FILE = f"{CONFIG_DIR}/weaviate-api-key"
"""The backup user's key (Weaviate: vos-backup, role vos-backups), read at every call."""


@dataclass(frozen=True)
class WeaviateBackups:
    """The backup user's key (a secret Output), when to take a backup (cron, UTC), how many
    days of them to keep (backup.postgres.retention), and Weaviate's backups volume."""

    key: Any
    schedule: str
    window_days: int
    volume: str


@dataclass(frozen=True)
class Parts:
    command: list[str] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    shared_mounts: list[SharedMount] = field(default_factory=list)


def parts(backups: WeaviateBackups | None) -> Parts:
    if backups is None:
        return Parts()
    return Parts(
        [
            *("--weaviate-url", f"https://{WEAVIATE.dns_name}:{WEAVIATE.tls_port}"),
            # Weaviate's certificate is the platform CA's, as the service's own.
            *("--weaviate-ca", f"{TLS_DIR}/ca.crt", "--weaviate-key", KEY_FILE),
            *("--weaviate-backups", weaviate.BACKUP_PATH),
            *("--weaviate-schedule", backups.schedule),
            *("--weaviate-window-days", str(backups.window_days)),
        ],
        [Upload(KEY_FILE, backups.key, UID, "0400", secret=True)],
        # Written by Weaviate, read and pruned by the service (a group both share).
        [SharedMount(weaviate.BACKUPS, backups.volume, read_only=False)],
    )
