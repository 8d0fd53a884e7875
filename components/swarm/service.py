"""A ContainerSpec as a hardened docker.Service: the single-host container's hardening in
Swarm's terms, plus how its tasks are placed and rolled (placement.py).

What a Swarm service cannot say, and where it is held instead:
- no-new-privileges and the open-files limit: Swarm's ContainerSpec (the provider's
  `task_spec.container_spec`) has neither, so each engine's daemon.json sets them for every
  container it runs (`no-new-privileges: true`, `default-ulimits`; the host layer,
  ansible/roles/docker_engine/files/daemon.json);
- a tmpfs owned by the service's uid: Swarm's tmpfs options are size and mode only, so a
  scratch tmpfs of a non-root service is asked world-writable (0777); it is the task's own,
  seen by no other container. Over a directory the image has, the engine (runc's copy-up)
  gives the tmpfs that directory's mode instead (seen on the tier's Swarm): such an image
  must make it writable for its user, as the official images do (1777);
- swap: the engine's executor sets only a memory limit;
- one-shot jobs: the provider has no job mode (`mode` is replicated or global), so a job
  is a `replicated-job` service of a dynamic provider of this project's (job.py); a spec
  with a sidecar's shared volume, a build from source or an extra host entry is refused
  with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_docker as docker

from components.docker.engine_defaults import LOG_LABELS, log_options
from components.docker.spec import CONFIG_DIR, ContainerSpec
from components.swarm.files import SwarmFile, swarm_files
from components.swarm.placement import SwarmPlacement
from stacks.docker_values import cpus_nanos, go_short_duration

WORLD_WRITABLE = 0o777
"""A scratch tmpfs a non-root task can write. Not sticky (1777): the provider reads the mode
back as Mode.Perm(), without the sticky bit (flattenServiceMounts), so 1777 would differ
at every preview; the tmpfs is the task's own, so no other user shares it."""
MONITOR = "30s"
"""How long Swarm watches an updated task for a failure once it runs (a task with a
healthcheck stays `starting` until healthy, so this comes after its first good verdict)."""


def _bytes(size: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)", size.lower())
    if match is None:
        raise ValueError(f"a tmpfs size Swarm cannot take: {size!r}")
    number, unit = match.groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def tmpfs_mounts(spec: ContainerSpec) -> list[tuple[str, int, int]]:
    """(path, size in bytes, mode) of each tmpfs of the spec, in Swarm's terms (size and
    mode only: a non-root task's tmpfs is world-writable, WORLD_WRITABLE)."""
    mounts = []
    for path, options in sorted(spec.tmpfs.items()):
        given = dict(o.partition("=")[::2] for o in options.split(","))
        owner = given.get("uid", "0")
        mode = int(given.get("mode", "0700"), 8) if owner == "0" else WORLD_WRITABLE
        mounts.append((path, _bytes(given.get("size", "64m")), mode))
    return mounts


def _tmpfs(spec: ContainerSpec) -> list[docker.ServiceTaskSpecContainerSpecMountArgs]:
    return [
        docker.ServiceTaskSpecContainerSpecMountArgs(
            type="tmpfs",
            target=path,
            tmpfs_options=docker.ServiceTaskSpecContainerSpecMountTmpfsOptionsArgs(
                size_bytes=size, mode=mode
            ),
        )
        for path, size, mode in tmpfs_mounts(spec)
    ]


def _mounts(
    spec: ContainerSpec, placement: SwarmPlacement
) -> list[docker.ServiceTaskSpecContainerSpecMountArgs]:
    mounts = _tmpfs(spec)
    if spec.data_volume_source is not None:
        raise ValueError(
            f"{spec.service}: a Swarm runs no service on a restored volume "
            "(backup.postgres.restoredVolume is for target docker; the settings refuse it)"
        )
    if spec.data_volume is not None:
        mounts.append(
            docker.ServiceTaskSpecContainerSpecMountArgs(
                type="volume",
                source=f"{placement.name_prefix}-{spec.service}-data",
                target=spec.data_volume,
            )
        )
    mounts += [
        docker.ServiceTaskSpecContainerSpecMountArgs(
            type="volume", source=f"{placement.name_prefix}-{spec.service}-{suffix}", target=path
        )
        for path, suffix in spec.kept_volumes.items()
    ]
    mounts += [
        docker.ServiceTaskSpecContainerSpecMountArgs(
            type="bind", source=f.source, target=f.target, read_only=True
        )
        for f in spec.host_folders
    ]
    return mounts


def _references(
    files: list[SwarmFile],
) -> tuple[
    list[docker.ServiceTaskSpecContainerSpecConfigArgs],
    list[docker.ServiceTaskSpecContainerSpecSecretArgs],
]:
    configs, secrets = [], []
    for f in files:
        owner, mode = str(f.upload.owner), int(f.upload.mode, 8)
        if f.upload.secret:
            secrets.append(
                docker.ServiceTaskSpecContainerSpecSecretArgs(
                    secret_id=f.object_id, secret_name=f.object_name, file_name=f.upload.path,
                    file_uid=owner, file_gid=owner, file_mode=mode,
                )
            )  # fmt: skip
        else:
            configs.append(
                docker.ServiceTaskSpecContainerSpecConfigArgs(
                    config_id=f.object_id, config_name=f.object_name, file_name=f.upload.path,
                    file_uid=owner, file_gid=owner, file_mode=mode,
                )
            )  # fmt: skip
    return configs, secrets


def _healthcheck(spec: ContainerSpec) -> docker.ServiceTaskSpecContainerSpecHealthcheckArgs | None:
    if spec.healthcheck is None:
        return None
    check = spec.healthcheck
    return docker.ServiceTaskSpecContainerSpecHealthcheckArgs(
        tests=["CMD", *check.test],
        interval=go_short_duration(check.interval),
        timeout=go_short_duration(check.timeout),
        retries=check.retries,
        start_period=go_short_duration(check.start_period),
    )


class _Rolling(TypedDict):
    parallelism: int
    delay: str
    failure_action: str
    monitor: str
    max_failure_ratio: str
    order: str


def _rolling(order: str, failure_action: str, delay: str) -> _Rolling:
    """One task at a time, watched for MONITOR; no failed task tolerated ("0.0": the
    provider reads the ratio back with one decimal)."""
    return _Rolling(parallelism=1, delay=delay, failure_action=failure_action,
                    monitor=MONITOR, max_failure_ratio="0.0", order=order)  # fmt: skip


def hardened_service(
    name: str,
    spec: ContainerSpec,
    placement: SwarmPlacement,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Service:
    refused = [
        (spec.one_shot, "a one-shot job runs as a Swarm job (components/swarm/job.py)"),
        (bool(spec.shared_mounts), "Swarm tasks share no volume with a sidecar"),
        (spec.build is not None, "Swarm nodes pull images from a registry: push it, name it"),
        (bool(spec.extra_hosts), "host-gateway names the host a task runs on, not one host"),
    ]
    for cannot, why in refused:
        if cannot:
            raise ValueError(f"{spec.service}: {why}")
    prefix = f"{placement.name_prefix}-{spec.service}"
    child = pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))
    uploads = [*spec.uploads, *spec.engine_secrets]
    files = swarm_files(name, placement.name_prefix, spec.service, uploads, child)
    configs, secrets = _references(files)
    labels = {"vos.stack": placement.stack, "vos.service": spec.service,
              **({"vos.role": spec.role} if spec.role else {})}  # fmt: skip
    mode = (
        docker.ServiceModeArgs(global_=True)
        if placement.replicas is None
        else docker.ServiceModeArgs(
            replicated=docker.ServiceModeReplicatedArgs(replicas=placement.replicas)
        )
    )
    ports = []
    if placement.published is not None:
        published, target = placement.published
        ports.append(
            docker.ServiceEndpointSpecPortArgs(
                target_port=target, published_port=published, publish_mode="host", protocol="tcp"
            )
        )
    return docker.Service(
        name,
        name=prefix,
        labels=[docker.ServiceLabelArgs(label=k, value=v) for k, v in labels.items()],
        task_spec=docker.ServiceTaskSpecArgs(
            container_spec=docker.ServiceTaskSpecContainerSpecArgs(
                image=spec.image,
                # The provider's `commands` is the entrypoint, `args` the command (docker
                # CLI service create --entrypoint / arguments).
                commands=spec.entrypoint,
                args=spec.command,
                user=spec.user,
                env=dict(sorted(spec.env.items())),
                hostname=spec.service,
                read_only=True,
                cap_drops=["ALL"],
                cap_adds=spec.capabilities_add or None,
                init=spec.init,
                mounts=_mounts(spec, placement),
                configs=configs or None,
                secrets=secrets or None,
                healthcheck=_healthcheck(spec),
                labels=[
                    docker.ServiceTaskSpecContainerSpecLabelArgs(label=k, value=v)
                    for k, v in labels.items()
                ],
                stop_grace_period="30s",
            ),
            resources=docker.ServiceTaskSpecResourcesArgs(
                limits=docker.ServiceTaskSpecResourcesLimitsArgs(
                    memory_bytes=placement.memory_mb * 1024 * 1024,
                    nano_cpus=cpus_nanos(str(placement.cpus)),
                )
            ),
            restart_policy=docker.ServiceTaskSpecRestartPolicyArgs(
                condition="any", delay="5s", window=go_short_duration("60s"), max_attempts=0
            ),
            placement=docker.ServiceTaskSpecPlacementArgs(
                constraints=list(placement.constraints) or None,
                max_replicas=placement.max_per_node,
            ),
            networks_advanceds=[
                # By id: the provider reads back only the id, and a name would replace the
                # service at every `up` (the argument's own documentation says so).
                docker.ServiceTaskSpecNetworksAdvancedArgs(id=n, aliases=[spec.service])
                for n in placement.networks
            ],
            log_driver=docker.ServiceTaskSpecLogDriverArgs(
                name="json-file", options=log_options("10m", "3", LOG_LABELS)
            ),
        ),
        mode=mode,
        endpoint_spec=docker.ServiceEndpointSpecArgs(
            mode=placement.endpoint_mode, ports=ports or None
        ),
        # Create and update wait until every task runs (replicated only: the provider refuses
        # converge_config beside global mode; resourceDockerServiceCreate, StateChangeConf).
        converge_config=(
            docker.ServiceConvergeConfigArgs(delay="7s", timeout="3m")
            if placement.replicas is not None
            else None
        ),
        update_config=docker.ServiceUpdateConfigArgs(**_rolling(placement.order, "rollback", "5s")),
        # A rollback that fails too stops where it is, for a person to look.
        rollback_config=docker.ServiceRollbackConfigArgs(
            **_rolling(placement.order, "pause", "0s")
        ),
        opts=child,
    )


__all__ = ["CONFIG_DIR", "hardened_service"]
