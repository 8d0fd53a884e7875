"""Turn a ContainerSpec into hardened Docker resources.

Every container: pinned image, its own config volume for uploads, read-only root
filesystem with tmpfs for scratch space, all capabilities dropped (adds only what the spec
names), no-new-privileges, memory and CPU limits, a restart policy, log rotation, an
internal network with the service's DNS name as alias, and host ports only when published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker.networks import Networks
from components.docker.spec import CONFIG_DIR, ContainerSpec
from infra.catalogue import SERVICES
from infra.settings import Settings


@dataclass(frozen=True)
class Placement:
    """Where a container runs: networks, limits and (optionally) a published port."""

    networks: Sequence[pulumi.Input[str]]
    memory_mb: int
    cpus: float
    published_port: int | None = None
    published_internal_port: int | None = None


def service_placement(settings: Settings, key: str, networks: Networks) -> Placement:
    """Placement of a catalogue service: the internal backend network, its limits, and,
    when `network.publishedPorts` names it, its TLS port on the host plus the edge network
    (Docker publishes no port of a container that is only on an internal network)."""
    service = settings.services.get(key)
    published = settings.network.published_ports.get(key)
    return Placement(
        networks=[networks.backend.name] + ([networks.edge.name] if published else []),
        memory_mb=service.memory_mb,
        cpus=service.cpus,
        published_port=published,
        published_internal_port=SERVICES[key].tls_port,
    )


def _uploads(spec: ContainerSpec) -> list[docker.ContainerUploadArgs]:
    return [
        docker.ContainerUploadArgs(
            file=upload.path,
            content=pulumi.Output.secret(upload.content) if upload.secret else upload.content,
            owner=str(upload.owner),
            group=str(upload.owner),
            permissions=upload.mode,
        )
        for upload in spec.uploads
    ]


def hardened_container(
    name: str,
    spec: ContainerSpec,
    settings: Settings,
    placement: Placement,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
) -> docker.Container:
    prefix = f"{settings.name_prefix}-{spec.service}"
    child = pulumi.ResourceOptions(parent=parent)
    image = docker.RemoteImage(f"{name}-image", name=spec.image, keep_locally=True, opts=child)
    config = docker.Volume(f"{name}-config", name=f"{prefix}-config", opts=child)
    volumes = [docker.ContainerVolumeArgs(volume_name=config.name, container_path=CONFIG_DIR)]
    if spec.data_volume:
        data = docker.Volume(
            f"{name}-data",
            name=f"{prefix}-data",
            # Data outlives the container; deleting the stack keeps it unless asked otherwise.
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
        )
        volumes.append(
            docker.ContainerVolumeArgs(volume_name=data.name, container_path=spec.data_volume)
        )

    ports = []
    if placement.published_port is not None:
        ports.append(
            docker.ContainerPortArgs(
                internal=placement.published_internal_port or spec.internal_ports[0],
                external=placement.published_port,
                ip=str(settings.network.bind_address),
                protocol="tcp",
            )
        )
    healthcheck = None
    if spec.healthcheck is not None:
        healthcheck = docker.ContainerHealthcheckArgs(
            tests=["CMD", *spec.healthcheck.test],
            interval=spec.healthcheck.interval,
            timeout=spec.healthcheck.timeout,
            retries=spec.healthcheck.retries,
            start_period=spec.healthcheck.start_period,
        )
    return docker.Container(
        name,
        name=prefix,
        hostname=spec.service,
        image=image.image_id,
        command=spec.command,
        entrypoints=spec.entrypoint,
        user=spec.user,
        envs=[f"{k}={v}" for k, v in sorted(spec.env.items())],
        uploads=_uploads(spec),
        volumes=volumes,
        tmpfs=spec.tmpfs,
        read_only=True,
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=spec.capabilities_add),
        security_opts=["no-new-privileges:true"],
        memory=placement.memory_mb,
        memory_swap=placement.memory_mb,
        cpus=str(placement.cpus),
        restart="no" if spec.one_shot else "unless-stopped",
        must_run=not spec.one_shot,
        attach=spec.one_shot,
        logs=spec.one_shot,
        wait=spec.healthcheck is not None and not spec.one_shot,
        wait_timeout=180,
        healthcheck=healthcheck,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network, aliases=[spec.service])
            for network in placement.networks
        ],
        ports=ports,
        log_driver="json-file",
        log_opts={"max-size": "10m", "max-file": "3"},
        labels=[
            docker.ContainerLabelArgs(label="vos.stack", value=settings.stack),
            docker.ContainerLabelArgs(label="vos.service", value=spec.service),
        ],
        destroy_grace_seconds=30,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=depends_on or [], delete_before_replace=True
        ),
    )


def dependencies_of(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """A component's `depends_on`, to hand on to its containers: Pulumi does not pass a
    component's dependencies down to the resources created under it."""
    if opts is None or opts.depends_on is None:
        return []
    found = opts.depends_on if isinstance(opts.depends_on, list) else [opts.depends_on]
    return [d for d in found if isinstance(d, pulumi.Resource)]


class JobFailed(RuntimeError):
    """A one-shot job container exited with a non-zero code."""


def job_result(job: docker.Container, container_name: str) -> pulumi.Output[int]:
    """The exit code of a one-shot job, failing the update when it is not 0.

    The Docker provider records the exit code of a container that runs to completion but
    does not fail on a non-zero one; without this a failed job would pass silently.
    """

    def check(code: int | None) -> int:
        if code not in (None, 0):
            raise JobFailed(
                f"the one-shot job {container_name} exited with code {code}; "
                f"read its output with `docker logs {container_name}`"
            )
        return int(code or 0)

    return job.exit_code.apply(check)
