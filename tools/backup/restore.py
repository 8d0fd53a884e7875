"""`vos-infra backup restore`: the stack's PostgreSQL as it was at a moment, in a new Docker
volume, checked by starting PostgreSQL on it; the stack's own data volume is never touched.

On the stack's engine (DOCKER_HOST, as `pulumi up` uses it), each step a one-off container
as hardened as the services (no network, read-only root, no capability beyond the step's):
1. the running backup service closes the WAL segment in progress (so what was written up to
   now can be replayed; skipped when PostgreSQL is down, e.g. a lost data volume);
2. a new volume `<prefix>-postgres-restore-<UTC time>`;
3. the backup image's Barman, with the backup service's files and backups (its volumes),
   recovers the newest base backup that ended before the moment into it, replaying WAL to
   the moment and then promoting (a moment no backup reaches is refused before step 2);
4. the files handed to the postgres image's user (999), as only root may;
5. the stack's postgres image starts on the volume with the stack's own rendered files,
   replays, promotes and answers; then it stops cleanly;
6. an empty volume `<restore>-finished` says it finished (the switch-over asks for it: a
   restore killed before here leaves a volume that is refused).
With `from_copies`, steps 1 and 3 use Barman's home made again from the sealed copies
(from_copies.py) instead of the service's own backups.
Any failure removes the new volume and says which step failed, with its output.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from components.docker.spec import CONFIG_DIR, tmpfs_options
from components.postgres.containers import DATA
from components.postgres.containers import UID as POSTGRES_UID
from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres.files import CONF
from components.postgres_backup import files
from components.postgres_backup.containers import UID as BACKUP_UID
from components.postgres_backup.definition import DEFINITION as BACKUP
from tools.backup.from_copies import CopiesError, fetch_home, home_mounts, refresh
from tools.backup.service import close_wal
from tools.backup.target import Target, TargetError

RESTORE_DIR = "/restore"
"""Where the new volume is mounted in the backup image (a folder its barman user owns, so a
new volume there is barman's: images/postgres-backup/Dockerfile)."""
SOCKET_DIR = "/var/run/postgresql"
HARDENED: dict[str, Any] = {
    "network_mode": "none",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}


class RestoreError(RuntimeError):
    """A restore that could not be made; nothing it started is left behind."""


@dataclass(frozen=True)
class Restored:
    volume: str
    target: Target
    replayed: list[str]
    """PostgreSQL's own lines about the recovery (where it stopped, the promotion)."""


def running_container(client: docker.DockerClient, name: str) -> Container:
    return _container(client, name, running=True)


def backup_service(client: docker.DockerClient, prefix: str) -> Container:
    """The stack's running backup service (`<prefix>-postgres-backup`)."""
    return running_container(client, f"{prefix}-{BACKUP.dns_name}")


def _container(client: docker.DockerClient, name: str, running: bool) -> Container:
    try:
        found = client.containers.get(name)
    except docker.errors.NotFound:
        raise RestoreError(
            f"no container {name} on this engine: is the stack up here (DOCKER_HOST), with "
            "services.postgresBackup enabled?"
        ) from None
    if running and found.status != "running":
        raise RestoreError(f"{name} is {found.status}: start it (`pulumi up`) and try again")
    return found


def kept_backups(backup: Container) -> list[dict[str, Any]]:
    """Barman's `list-backups` in the running backup service, oldest first."""
    code, out = backup.exec_run(
        ["barman", "-c", files.CONFIG, "--format", "json", "list-backups", files.SERVER],
        user=str(BACKUP_UID),
    )
    assert isinstance(out, bytes), "exec_run without stream returns the whole output"
    text = out.decode(errors="replace")
    if code != 0:
        raise RestoreError(f"barman list-backups failed (exit {code}):\n{text.strip()}")
    found: list[dict[str, Any]] = json.loads(text).get(files.SERVER, [])
    return sorted(found, key=lambda entry: int(entry.get("end_time_timestamp") or 0))


def _image(container: Container) -> str:
    """The id of the image it runs (the exact image, whatever its tag names now)."""
    return str(container.attrs["Image"])


def _one_off(
    client: docker.DockerClient, step: str, image: str, command: list[str], **options: Any
) -> str:
    """Run a step to its end; its output, or RestoreError naming the step."""
    container = client.containers.run(image, command, detach=True, **HARDENED, **options)
    try:
        status = container.wait(timeout=3600)
        out = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0:
        raise RestoreError(f"{step} failed (exit {status.get('StatusCode')}):\n{out.strip()}")
    return out


def _started(
    client: docker.DockerClient, postgres: Container, volume: str, timeout: float
) -> list[str]:
    """PostgreSQL on the restored volume with the stack's files, socket only, until it has
    promoted and answers; stopped cleanly after. Its lines about the recovery."""
    server = client.containers.run(
        _image(postgres),
        ["postgres", "-c", f"config_file={CONF}", "-c", "listen_addresses="],
        detach=True,
        user=f"{POSTGRES_UID}:{POSTGRES_UID}",
        environment={"PGDATA": DATA},
        volumes={
            volume: {"bind": DATA, "mode": "rw"},
            f"{postgres.name}-config": {"bind": CONFIG_DIR, "mode": "ro"},
        },
        tmpfs={SOCKET_DIR: tmpfs_options(POSTGRES_UID, "16m"), "/tmp": tmpfs_options(POSTGRES_UID)},  # noqa: S108
        **HARDENED,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            server.reload()
            if server.status != "running":
                raise RestoreError(
                    "PostgreSQL did not start on the restored files:\n"
                    + server.logs().decode(errors="replace")[-3000:]
                )
            ready = server.exec_run(["pg_isready", "-h", SOCKET_DIR], user=str(POSTGRES_UID))
            promoted = server.exec_run(["test", "!", "-e", f"{DATA}/recovery.signal"])
            if ready.exit_code == 0 and promoted.exit_code == 0:
                break
            if time.monotonic() > deadline:
                raise RestoreError(f"PostgreSQL had not finished recovering after {timeout:.0f} s")
            time.sleep(1)
        server.stop(timeout=120)
        log = server.logs().decode(errors="replace").splitlines()
    finally:
        server.remove(force=True)
    words = ("recovery stopping", "redo done", "selected new timeline", "archive recovery complete")
    return [line for line in log if any(w in line for w in words)]


def restore(
    client: docker.DockerClient,
    prefix: str,
    target: Target,
    now: datetime.datetime,
    timeout: float = 3600,
    from_copies: bool = False,
) -> Restored:
    """`from_copies`: from the sealed copies alone, not the service's own backups
    (from_copies.py: Barman's home made again in a volume of its own, removed after)."""
    backup = backup_service(client, prefix)
    postgres = _container(client, f"{prefix}-{POSTGRES.dns_name}", running=False)
    if not from_copies:
        return _restore(client, prefix, target, now, timeout, backup, postgres, None)
    try:
        refresh(backup, postgres.status == "running")
        home, kept = fetch_home(client, backup, prefix, now)
    except CopiesError as error:
        raise RestoreError(str(error)) from None
    try:
        return _restore(client, prefix, target, now, timeout, backup, postgres, (home, kept))
    finally:
        client.volumes.get(home).remove(force=True)


def _restore(
    client: docker.DockerClient,
    prefix: str,
    target: Target,
    now: datetime.datetime,
    timeout: float,
    backup: Container,
    postgres: Container,
    fetched: tuple[str, list[dict[str, Any]]] | None,
) -> Restored:
    """From the service's own backups (its volumes), or from a fetched home and its list."""
    barman = ["barman", "-c", files.CONFIG]
    try:
        base = target.base_backup(fetched[1] if fetched else kept_backups(backup))
    except TargetError as error:
        raise RestoreError(str(error)) from None
    if postgres.status == "running" and fetched is None:
        close_wal(backup)
    name = f"{prefix}-postgres-restore-{now:%Y%m%dT%H%M%SZ}"
    stack = postgres.labels.get("vos.stack", "")
    client.volumes.create(
        name,
        labels={
            "vos.stack": stack,
            "vos.role": files.RESTORE_ROLE,
            "vos.restored-to": target.label(),
        },
    )
    try:
        into = {name: {"bind": RESTORE_DIR, "mode": "rw"}}
        # Barman's home: the service's volumes, or the one the copies were opened into.
        home: dict[str, Any] = (
            {"volumes": {**home_mounts(backup, fetched[0]), **into}}
            if fetched
            else {"volumes_from": [backup.id], "volumes": into}
        )
        _one_off(
            client, "barman recover", _image(backup),
            [*barman, "recover", *target.barman_args, files.SERVER, base, RESTORE_DIR],
            entrypoint=[], user=f"{BACKUP_UID}:{BACKUP_UID}", **home,
            tmpfs={"/tmp": tmpfs_options(BACKUP_UID)},  # noqa: S108
        )  # fmt: skip
        _one_off(
            client, "handing the files to PostgreSQL's user", _image(postgres),
            ["chown", "-R", f"{POSTGRES_UID}:{POSTGRES_UID}", RESTORE_DIR],
            entrypoint=[], user="0", cap_add=["CHOWN", "DAC_READ_SEARCH", "FOWNER"],
            volumes={name: {"bind": RESTORE_DIR, "mode": "rw"}},
        )  # fmt: skip
        replayed = _started(client, postgres, name, timeout)
        client.volumes.create(
            files.finished_marker(name),
            labels={"vos.stack": stack, "vos.role": files.FINISHED_ROLE, "vos.restore": name},
        )
    except BaseException:
        client.volumes.get(name).remove(force=True)
        raise
    return Restored(name, target, replayed)
