"""`vos-infra backup restore --from-copies`: Barman's home made again from the sealed copies
alone (backup.postgres.offsite `volume`), for a restore when the backup service's own
backups are gone (its volume lost, a new host the copies were shipped to) or to prove the
copies restore (a drill).

When PostgreSQL runs, its WAL segment in progress is closed and a copy round run first
(the service's own `vos_offsite.py push`), so the copies reach as far as they can. Then, in
one-off containers as hardened as the restore's (no network, read-only root, no
capability), with the backup image, the service's own files (its config volume, read-only)
and the copies' volume (read-only): the copies are opened with the stack's current backup
key into a new volume laid out as Barman's home (`vos_offsite.py fetch`), Barman's WAL
index is rebuilt (`barman rebuild-xlogdb`), and Barman lists what it holds. The restore
then recovers from that home as it would from the service's (restore.py), and the volume
goes when it is done. A copy sealed before a `backupKey` rotation does not open with the
current key: the fetch names it (the older keys' way is docs/runbooks/restore.md). Copies
in a bucket are the runbook's too: a one-off with no network cannot reach it."""

from __future__ import annotations

import datetime
import json
from typing import Any

import docker
from docker.models.containers import Container

from components.docker.spec import CONFIG_DIR, tmpfs_options
from components.postgres_backup import files
from components.postgres_backup.containers import UID as BACKUP_UID
from tools.backup.service import close_wal, service_arguments

OFFSITE_TOOL = "/usr/local/bin/vos_offsite.py"
FETCH_SCRATCH = f"{files.HOME}/fetch-scratch"


class CopiesError(RuntimeError):
    """The copies could not be made into Barman's home; the message says which step."""


def copies_volume(backup: Container) -> str:
    """The copies' volume the service writes to; CopiesError when it has none."""
    given = service_arguments(backup)
    if "--s3-bucket" in given:
        raise CopiesError(
            "the copies are in a bucket (backup.postgres.offsite: s3): fetch them as "
            'docs/runbooks/restore.md says ("A lost data host")'
        )
    if given.get("--store-dir") != files.OFFSITE_STORE:
        raise CopiesError(
            "the backup service makes no copies (backup.postgres.offsite: none): there is "
            "nothing to restore from"
        )
    mounts = {m["Destination"]: m for m in backup.attrs["Mounts"]}
    return str(mounts[files.OFFSITE_STORE]["Name"])


def refresh(backup: Container, postgres_running: bool) -> None:
    """The WAL in progress closed and a copy round run now, so the copies reach as far as
    the service's own backups (best effort: a lost server closes nothing)."""
    if postgres_running:
        close_wal(backup)
    code, out = backup.exec_run(
        ["python3", OFFSITE_TOOL, "push", "--key", files.OFFSITE_KEY,
         "--store-dir", files.OFFSITE_STORE, "--server-dir", f"{files.HOME}/{files.SERVER}",
         "--scratch", files.OFFSITE_SCRATCH],
        user=str(BACKUP_UID),
    )  # fmt: skip
    assert isinstance(out, bytes), "exec_run without stream returns the whole output"
    if code != 0:
        raise CopiesError(f"a copy round before the restore failed: {out.decode()[-2000:]}")


def home_mounts(backup: Container, home: str) -> dict[str, dict[str, str]]:
    """What a one-off needs to be Barman on the fetched home: the service's files, the
    copies, the home."""
    return {
        f"{backup.name}-config": {"bind": CONFIG_DIR, "mode": "ro"},
        copies_volume(backup): {"bind": files.OFFSITE_STORE, "mode": "ro"},
        home: {"bind": files.HOME, "mode": "rw"},
    }


def fetch_home(
    client: docker.DockerClient, backup: Container, prefix: str, now: datetime.datetime
) -> tuple[str, list[dict[str, Any]]]:
    """A new volume holding Barman's home as the copies give it back, and Barman's list of
    the backups in it (oldest first). The caller removes the volume."""
    name = f"{prefix}-postgres-fetch-{now:%Y%m%dT%H%M%SZ}"
    client.volumes.create(name, labels={"vos.role": "postgres-fetch"})
    fetch = (
        f"python3 {OFFSITE_TOOL} fetch --keys {files.OFFSITE_KEY} "
        f"--store-dir {files.OFFSITE_STORE} --server-dir {files.HOME}/{files.SERVER} "
        f"--scratch {FETCH_SCRATCH} && rm -rf {FETCH_SCRATCH} && "
        f"barman -c {files.CONFIG} rebuild-xlogdb {files.SERVER} && "
        f"barman -c {files.CONFIG} --format json list-backups {files.SERVER}"
    )
    try:
        container = client.containers.run(
            backup.attrs["Image"], ["sh", "-c", fetch], detach=True, entrypoint=[],
            user=f"{BACKUP_UID}:{BACKUP_UID}", volumes=home_mounts(backup, name),
            tmpfs={"/tmp": tmpfs_options(BACKUP_UID)},  # noqa: S108
            network_mode="none", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )  # fmt: skip
        try:
            status = container.wait(timeout=3600)
            out = container.logs(stderr=False).decode(errors="replace")
            err = container.logs(stdout=False).decode(errors="replace")
        finally:
            container.remove(force=True)
        if status.get("StatusCode") != 0:
            raise CopiesError(f"opening the copies failed (exit {status.get('StatusCode')}):\n"
                              f"{(out + err).strip()[-3000:]}")  # fmt: skip
    except BaseException:  # the engine refused, a timeout, the step failed: no volume left
        client.volumes.get(name).remove(force=True)
        raise
    listing = out[out.index("{") :] if "{" in out else "{}"
    found: list[dict[str, Any]] = json.loads(listing).get(files.SERVER, [])
    return name, sorted(found, key=lambda entry: int(entry.get("end_time_timestamp") or 0))
