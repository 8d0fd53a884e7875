"""backup.postgres.restoredVolume, checked on the stack's engine before anything is created.

The setting names a volume the program does not make: Docker would make an empty one for a
missing name when the container is created, and PostgreSQL's image would initialise an
empty database on it, i.e. the stack would come back with no data. So the volume must be
there, be a restore of this stack (`vos-infra backup restore` labels it:
tools/backup/restore.py) that finished (its `-finished` marker volume, made last) and be
used by no other container (two servers on one data
directory corrupt it). Checked at preview and again at `up`, on the engine the Docker
provider uses, reached as it reaches it (`docker:host`, else DOCKER_HOST; its TLS settings:
infra/docker_engine.py). An offline evaluation (plan, render, check) with neither cannot
look, and says so.
"""

from __future__ import annotations

import docker
import docker.errors
import pulumi

from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres_backup.files import FINISHED_ROLE, RESTORE_ROLE, finished_marker
from infra.docker_engine import EngineSettings, EngineSettingsError, engine_client
from stacks import Settings

KEY = "vos-infra:backup.postgres.restoredVolume"


class RestoredVolumeRefused(RuntimeError):
    """The restored volume to switch over to is missing, not this stack's, or in use."""


def _refused(why: str, settings: Settings) -> RestoredVolumeRefused:
    return RestoredVolumeRefused(
        f"nothing was created: {KEY}: {why}.\n  Fix: vos-infra backup restore --stack "
        f"{settings.stack} --to <time|latest> makes one and prints its name; or go on with "
        f"PostgreSQL's own volume: pulumi config rm --path '{KEY}'"
    )


def _labels(client: docker.DockerClient, volume: str) -> dict[str, str] | None:
    try:
        return dict(client.volumes.get(volume).attrs.get("Labels") or {})
    except docker.errors.NotFound:
        return None


def problems(client: docker.DockerClient, settings: Settings) -> str | None:
    """What is wrong with the volume on this engine, or None."""
    name = settings.backup.postgres.restored_volume
    assert name is not None
    labels = _labels(client, name)
    if labels is None:
        return f"no volume '{name}' on the stack's Docker engine"
    if labels.get("vos.role") != RESTORE_ROLE or labels.get("vos.stack") != settings.stack:
        return (
            f"the volume '{name}' was not made by `vos-infra backup restore` for stack "
            f"{settings.stack} (its labels: {labels})"
        )
    marker = _labels(client, finished_marker(name)) or {}
    if marker.get("vos.role") != FINISHED_ROLE or marker.get("vos.restore") != name:
        return (
            f"the restore into '{name}' did not finish (it was stopped before PostgreSQL "
            f"promoted on it, so its files may be half written): docker volume rm {name}, "
            "and restore again"
        )
    # The stack's own PostgreSQL (and its files carrier) on it already: a second `up`.
    own = {"vos.stack": settings.stack, "vos.service": POSTGRES.dns_name}
    found = client.containers.list(all=True, filters={"volume": name})
    users = sorted(str(c.name) for c in found if own.items() - c.labels.items())
    if users:
        return (
            f"the volume '{name}' is used by {', '.join(users)}: a second server on "
            f"it would corrupt it (docker rm -f {' '.join(users)})"
        )
    return None


def check_restored_volume(settings: Settings, offline: bool) -> None:
    if settings.backup.postgres.restored_volume is None:
        return
    # The raw values: Config.get would warn for each secret material.
    engine = EngineSettings.of(lambda key: pulumi.runtime.get_config(f"docker:{key}"))
    if offline and "host" not in engine.values:
        pulumi.log.warn(
            f"{KEY} is not checked without a Docker engine (docker:host or DOCKER_HOST); "
            "`pulumi preview` and `pulumi up` check it"
        )
        return
    try:
        found = problems(engine_client(engine, timeout=30), settings)
    except (docker.errors.DockerException, EngineSettingsError) as error:
        raise _refused(
            f"cannot ask the stack's Docker engine at {engine.address} about the volume "
            f"({error}); set docker:host (or DOCKER_HOST) and its TLS (docker:certPath or "
            "the docker:*Material settings) as for the Docker provider",
            settings,
        ) from None
    if found:
        raise _refused(found, settings)
