"""Turn a ContainerSpec into hardened Docker resources.

Every container: pinned image, its own config volume, read-only root filesystem with tmpfs
for scratch space, all capabilities dropped (adds only what the spec names),
no-new-privileges, memory and CPU limits, a restart policy, log rotation, an internal
network with the service's DNS name as alias, and host ports only when published.

How files reach a read-only container. The Docker provider copies every upload with
CopyToContainer to `/` of the container, after create and before start
(terraform-provider-docker internal/provider/resource_docker_container_funcs.go,
resourceDockerContainerCreate), and the daemon refuses any copy to `/` of a container whose
root filesystem is read-only, even when every path lies inside a volume (moby
daemon/archive_unix.go: "container rootfs is marked read-only"). So the uploads go to a
second container, the service's *files carrier*: created with the service's image and the
same volumes, never started (`start=false`), no network, no capabilities. Its root
filesystem is writable, so the copy succeeds, and the files land in the volumes with the
archive's owner and mode. The service container mounts the config volume read-only: it
reads its files and cannot change them. It carries the carrier's id in a label, so a new
carrier (any file changed) replaces the service container, which then reads the new files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_docker as docker

from components.docker.engine_defaults import LOG_LABELS, log_options, ulimits
from components.docker.spec import CONFIG_DIR, RETRY_FAILED_CREATE, ContainerSpec
from components.stack_networks import StackNetworks
from stacks import Settings
from stacks.docker_values import cpus_input, go_duration
from stacks.services import ServiceDefinition


@dataclass(frozen=True)
class Placement:
    """Where a container runs and under which names: the stack's prefix and label, its
    networks, its limits and (optionally) a published port on the host's bind address.
    Nothing else of the settings reaches a container."""

    name_prefix: str
    stack: str
    networks: Sequence[pulumi.Input[str]]
    memory_mb: int
    cpus: float
    bind_address: str
    nofile: int
    """Open files (soft and hard), set on every container (stacks/models.py LimitsSettings)."""
    published_port: int | None = None
    published_internal_port: int | None = None

    def for_helper(self, network: pulumi.Input[str], memory_mb: int, cpus: float) -> Placement:
        """A helper beside the service (a one-shot job, a sidecar): one network, its own
        limits, nothing published."""
        return replace(
            self,
            networks=[network],
            memory_mb=memory_mb,
            cpus=cpus,
            published_port=None,
            published_internal_port=None,
        )


def service_placement(
    settings: Settings, definition: ServiceDefinition, networks: StackNetworks
) -> Placement:
    """Placement of a service: the internal backend network, its limits, and, when
    `network.publishedPorts` names it, its TLS port on the host plus the edge network
    (Docker publishes no port of a container that is only on an internal network)."""
    service = settings.service(definition.key)
    published = settings.network.published_ports.get(definition.key)
    return Placement(
        name_prefix=settings.name_prefix,
        stack=settings.stack,
        networks=[networks.ref(networks.backend)]
        + ([networks.ref(networks.edge)] if published else []),
        memory_mb=service.memory_mb,
        cpus=service.cpus,
        bind_address=str(settings.network.bind_address),
        nofile=settings.limits.nofile,
        published_port=published,
        published_internal_port=definition.tls_port,
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


def _labels(placement: Placement, spec: ContainerSpec, **extra: pulumi.Input[str]) -> list[Any]:
    labels = {"vos.stack": placement.stack, "vos.service": spec.service, **extra}
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in labels.items()]


REPLACE_ON_CHANGES = ["healthcheck", "tmpfs", "init", RETRY_FAILED_CREATE]
"""Container inputs the provider takes without ForceNew but never applies: its Update
changes only restart policy, memory, swap and CPU shares (resourceDockerContainerUpdate),
so a changed healthcheck, tmpfs or init would show `~ update` and keep the old values. Replacing
the container is how they reach the engine. And a container whose create failed half-way
(its upload refused, never healthy) is created again at the next `up` (spec.py)."""
FILES_ROLE = "files"
"""`vos.role` label of a files carrier (see the module docstring)."""


def _files_carrier(
    name: str,
    spec: ContainerSpec,
    placement: Placement,
    image: docker.RemoteImage,
    volumes: dict[str, pulumi.Output[str]],
    opts: pulumi.ResourceOptions,
) -> docker.Container:
    """The container the provider copies the service's uploads into (never started)."""
    return docker.Container(
        f"{name}-files",
        name=f"{placement.name_prefix}-{spec.service}-files",
        image=image.image_id,
        # Never run; if someone starts it anyway it exits at once.
        entrypoints=["true"],
        user=spec.user,
        start=False,
        must_run=False,
        restart="no",
        # Writable root filesystem: the daemon refuses the provider's copy to `/` otherwise.
        # Nothing ever runs in it: no network, no capabilities, no new privileges.
        read_only=False,
        network_mode="none",
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
        security_opts=["no-new-privileges:true"],
        memory=16,
        memory_swap=16,
        ulimits=ulimits(placement.nofile),
        uploads=_uploads(spec),
        # The volumes the uploads land in: the config volume, and the data volume when a
        # file belongs there (RabbitMQ's Erlang cookie lives in its home, the data volume).
        volumes=[
            docker.ContainerVolumeArgs(volume_name=volume, container_path=path)
            for path, volume in volumes.items()
            if any(upload.path.startswith(f"{path}/") for upload in spec.uploads)
        ],
        labels=_labels(placement, spec, **{"vos.role": FILES_ROLE}),
        log_driver="json-file",
        log_opts=log_options("1m", "1"),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(replace_on_changes=[RETRY_FAILED_CREATE])
        ),
    )


def _image(name: str, spec: ContainerSpec, opts: pulumi.ResourceOptions) -> docker.RemoteImage:
    """The image by its reference (pulled if it is not on the host). A build from source
    is built on the host first, under a tag that changes with the source (images.local_tag);
    the RemoteImage then finds it locally and gives its id, so a new build replaces the
    container (pulumi-docker: `imageName` alone triggers no update)."""
    if spec.build is None:
        return docker.RemoteImage(f"{name}-image", name=spec.image, keep_locally=True, opts=opts)
    built = docker.Image(
        f"{name}-build",
        build=docker.DockerBuildArgs(
            context=spec.build.context, dockerfile=spec.build.dockerfile, platform=None
        ),
        image_name=spec.image,
        skip_push=True,
        opts=opts,
    )
    return docker.RemoteImage(
        f"{name}-image",
        name=built.image_name,
        keep_locally=True,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[built])),
    )


def hardened_container(
    name: str,
    spec: ContainerSpec,
    placement: Placement,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Container:
    if spec.engine_secrets:
        raise ValueError(f"{spec.service}: one Docker host mounts no engine secrets (a Swarm's)")
    prefix = f"{placement.name_prefix}-{spec.service}"
    child = pulumi.ResourceOptions(parent=parent)
    image = _image(name, spec, child)
    # Fixed names: the old volume must be gone before its successor is created.
    config = docker.Volume(
        f"{name}-config",
        name=f"{prefix}-config",
        opts=pulumi.ResourceOptions(
            parent=parent, delete_before_replace=True, replace_on_changes=[RETRY_FAILED_CREATE]
        ),
    )
    volumes: dict[str, pulumi.Output[str]] = {CONFIG_DIR: config.name}
    kept = {spec.data_volume: "data", **spec.kept_volumes} if spec.data_volume else {}
    for path, suffix in kept.items():
        volume = docker.Volume(
            f"{name}-{suffix}",
            name=f"{prefix}-{suffix}",
            # Data outlives the container; deleting the stack keeps it unless asked otherwise.
            opts=pulumi.ResourceOptions(
                parent=parent,
                retain_on_delete=True,
                delete_before_replace=True,
                replace_on_changes=[RETRY_FAILED_CREATE],
            ),
        )
        volumes[path] = volume.name
    if spec.data_volume and spec.data_volume_source:
        # Named, not made: Docker would make an empty volume of a missing name, and
        # PostgreSQL initialise an empty database on it (infra/restored_volume.py checks
        # it exists before anything is created).
        volumes[spec.data_volume] = pulumi.Output.from_input(spec.data_volume_source)
    # Fixed container names: an old container must be gone before its successor is created.
    replaced_first = pulumi.ResourceOptions(
        parent=parent, depends_on=list(depends_on), delete_before_replace=True
    )
    files = _files_carrier(name, spec, placement, image, volumes, replaced_first)

    ports = []
    if placement.published_port is not None:
        ports.append(
            docker.ContainerPortArgs(
                internal=placement.published_internal_port or spec.internal_ports[0],
                external=placement.published_port,
                ip=placement.bind_address,
                protocol="tcp",
            )
        )
    healthcheck = None
    if spec.healthcheck is not None:
        healthcheck = docker.ContainerHealthcheckArgs(
            tests=["CMD", *spec.healthcheck.test],
            # In the form the provider reads back (Go durations: "60s" is "1m0s").
            interval=go_duration(spec.healthcheck.interval),
            timeout=go_duration(spec.healthcheck.timeout),
            retries=spec.healthcheck.retries,
            start_period=go_duration(spec.healthcheck.start_period),
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
        volumes=[
            # The service reads its files and cannot change them.
            *(
                docker.ContainerVolumeArgs(
                    volume_name=volume, container_path=path, read_only=path == CONFIG_DIR
                )
                for path, volume in volumes.items()
            ),
            *(
                docker.ContainerVolumeArgs(
                    volume_name=m.volume, container_path=m.path, read_only=m.read_only
                )
                for m in spec.shared_mounts
            ),
        ],
        mounts=[
            docker.ContainerMountArgs(type="bind", source=f.source, target=f.target, read_only=True)
            for f in spec.host_folders
        ]
        or None,
        hosts=[docker.ContainerHostArgs(host=h, ip=ip) for h, ip in spec.extra_hosts.items()]
        or None,
        tmpfs=spec.tmpfs,
        init=spec.init,
        read_only=True,
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=spec.capabilities_add),
        security_opts=["no-new-privileges:true"],
        memory=placement.memory_mb,
        memory_swap=placement.memory_mb,
        ulimits=ulimits(placement.nofile),
        cpus=cpus_input(placement.cpus),
        restart="no" if spec.one_shot else "unless-stopped",
        must_run=not spec.one_shot,
        attach=spec.one_shot,
        # A job's output is not kept in state: psql echoes a failing statement, and the role
        # job's statements carry password verifiers. `docker logs` shows it (JobFailed says so).
        logs=False,
        wait=spec.healthcheck is not None and not spec.one_shot,
        wait_timeout=180,
        healthcheck=healthcheck,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network, aliases=[spec.service])
            for network in placement.networks
        ],
        ports=ports,
        log_driver="json-file",
        # `labels`: each log line carries the container's vos.service label (json-file's
        # "attrs"), which is how Alloy names the stream without the engine's socket.
        log_opts=log_options("10m", "3", LOG_LABELS),
        # A new files carrier (a file changed) gives a new id: the service is replaced and
        # starts on the new files.
        labels=_labels(
            placement,
            spec,
            **{"vos.files": files.id},
            **({"vos.role": spec.role} if spec.role else {}),
        ),
        destroy_grace_seconds=30,
        opts=pulumi.ResourceOptions.merge(
            replaced_first,
            pulumi.ResourceOptions(
                depends_on=[files],
                replace_on_changes=REPLACE_ON_CHANGES,
                # Belt and braces: the provider never puts logs in state with logs=False.
                additional_secret_outputs=["container_logs"],
            ),
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
    does not fail on a non-zero one; without this a failed job would pass silently. The
    failed job stays in the state with its code, so the next `up` fails the same way until
    the job is replaced: the message gives the command.
    """

    def check(values: list[Any]) -> int:
        code, urn = values
        if code is None:
            # The provider records the container before it uploads, starts and waits for
            # it: a create that failed on the way leaves the job in the state with no exit
            # code, and the next `up` only "continues" it (an empty update) without running
            # it. A job that never ran has not succeeded.
            raise JobFailed(
                f"the one-shot job {container_name} never ran to completion (no exit code in "
                f"the state: its create failed before it ran); run it again with "
                f"`pulumi up --replace '{urn}'`"
            )
        if code != 0:
            raise JobFailed(
                f"the one-shot job {container_name} exited with code {code}; read its output "
                f"with `docker logs {container_name}`, fix the cause, then run it again with "
                f"`pulumi up --replace '{urn}'`"
            )
        return int(code)

    return pulumi.Output.all(job.exit_code, job.urn).apply(check)
