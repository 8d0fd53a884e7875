"""The running backup service as the backup commands meet it: the arguments it was started
with (every one a flag and its value, as components/postgres_backup/containers.py renders
them), and closing its server's WAL segment in progress so what was written up to now can
be replayed."""

from __future__ import annotations

from docker.models.containers import Container

from components.postgres_backup import files
from components.postgres_backup.containers import UID as BACKUP_UID


def service_arguments(backup: Container) -> dict[str, str]:
    """Its entrypoint's arguments by flag."""
    command = backup.attrs["Config"]["Cmd"] or []
    return {flag: value for flag, value in zip(command[::2], command[1::2], strict=False)}


def close_wal(backup: Container) -> None:
    """`barman switch-wal --archive` in the service: best effort (a server that is down
    closes nothing, and the restore then reaches what was filed)."""
    backup.exec_run(
        ["barman", "-c", files.CONFIG, "switch-wal", "--archive", "--archive-timeout", "60",
         files.SERVER],
        user=str(BACKUP_UID),
    )  # fmt: skip
