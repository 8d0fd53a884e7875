"""What a service container is, independent of Pulumi: the contract between renderers and
the Docker component.

Files reach a container as uploads into its volumes: the config volume mounted read-only
at CONFIG_DIR, or its data volume. They are copied into a files carrier that shares those
volumes, never into the service container itself, whose root filesystem is read-only
(see components/docker/container.py for why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONFIG_DIR = "/etc/vos"
TLS_DIR = f"{CONFIG_DIR}/tls"


@dataclass(frozen=True)
class Upload:
    path: str
    content: Any
    """A str, or a pulumi Output[str] (kept secret when `secret`)."""
    owner: int
    mode: str = "0444"
    secret: bool = False


@dataclass(frozen=True)
class TlsFiles:
    """A service's server certificate, its key and the platform CA, as its container gets
    them: `server.crt`, `server.key`, `ca.crt` in its TLS folder, owned by its user."""

    cert: Any
    key: Any
    ca: Any

    def uploads(self, owner: int, key_mode: str = "0400", folder: str = TLS_DIR) -> list[Upload]:
        return [
            Upload(f"{folder}/server.crt", self.cert, owner),
            Upload(f"{folder}/server.key", self.key, owner, key_mode, secret=True),
            Upload(f"{folder}/ca.crt", self.ca, owner),
        ]


@dataclass(frozen=True)
class SharedMount:
    """A volume another container of the same service also mounts (an app and its Vault
    Agent sidecar share a tmpfs volume of rendered secrets)."""

    path: str
    volume: Any
    """The volume's name (a str or a pulumi Output[str])."""
    read_only: bool


@dataclass(frozen=True)
class HostFolder:
    """A folder of the Docker host, bind-mounted read-only (Alloy reads the engine's log
    files). The policy pack allows only the paths a stack's configuration lists."""

    source: str
    target: str


@dataclass(frozen=True)
class BuildSource:
    """Build the image on the Docker host (the VOS apps in dev): absolute paths."""

    context: str
    dockerfile: str


@dataclass(frozen=True)
class Healthcheck:
    test: list[str]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 6
    start_period: str = "30s"


def https_check(
    name: str, port: int, path: str, client: tuple[str, str] | None = None
) -> Healthcheck:
    """curl (in the image) to the service's own HTTPS endpoint, verified against the
    platform CA for the service's name (resolved to loopback), with a client certificate
    (certificate file, key file) where the endpoint demands one."""
    identity = ["--cert", client[0], "--key", client[1]] if client else []
    return Healthcheck(
        [
            "curl",
            "-fsS",
            "-o",
            "/dev/null",
            "--cacert",
            f"{TLS_DIR}/ca.crt",
            *identity,
            "--resolve",
            f"{name}:{port}:127.0.0.1",
            f"https://{name}:{port}{path}",
        ],
        start_period="60s",
    )


def listening_check(port: int) -> Healthcheck:
    """For a service whose endpoint demands a client certificate that no tool in its image
    can present (the exporters' busybox images): the check is that the process listens on
    its port (the exporter-toolkit binds only after its web config loaded). Whether it
    answers, and what, is Prometheus's `up` (alert TargetDown)."""
    return Healthcheck(["nc", "-z", "-w", "3", "127.0.0.1", str(port)])


@dataclass(frozen=True)
class ContainerSpec:
    service: str
    """DNS name of the service: network alias and certificate name."""
    image: str
    command: list[str]
    user: str
    """uid:gid the process runs as (the image's own user)."""
    env: dict[str, str] = field(default_factory=dict)
    """Non-secret environment only; secrets are uploads (files)."""
    uploads: list[Upload] = field(default_factory=list)
    data_volume: str | None = None
    """Mount path of the service's persistent data volume, if any."""
    data_volume_source: str | None = None
    """An existing volume mounted there instead of the service's own, which is still made
    and kept, untouched: PostgreSQL switched over to a restore (backup.postgres.
    restoredVolume). One Docker host only (the settings refuse it on a Swarm)."""
    kept_volumes: dict[str, str] = field(default_factory=dict)
    """Mount path -> name suffix of further volumes kept like the data volume (the backup
    service's copies, which must outlive its data volume). Only beside a data volume: the
    service is stateful, and placed as such."""
    tmpfs: dict[str, str] = field(default_factory=dict)
    capabilities_add: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    healthcheck: Healthcheck | None = None
    internal_ports: list[int] = field(default_factory=list)
    one_shot: bool = False
    """A job that runs to completion (restart no) instead of a long-running service."""
    shared_mounts: list[SharedMount] = field(default_factory=list)
    host_folders: list[HostFolder] = field(default_factory=list)
    extra_hosts: dict[str, str] = field(default_factory=dict)
    """Host name -> address added to /etc/hosts (`host-gateway`: the Docker host)."""
    init: bool = False
    """Docker's init process (docker-init) as PID 1, the service its child: for a server
    that will not run as PID 1 (Squid refuses a pid file naming PID 1)."""
    role: str | None = None
    """`vos.role` label of a container the policy pack treats apart (VAULT_AGENT_ROLE,
    EGRESS_PROXY_ROLE)."""
    build: BuildSource | None = None
    """Build `image` (then a local tag) from source on the Docker host instead of pulling."""
    engine_secrets: list[Upload] = field(default_factory=list)
    """Secret files the engine itself mounts into the container, each at its own path (a
    Swarm's secrets, on a tmpfs of the task): an app's secrets on a Swarm, where no sidecar
    renders them. One host has no such mount (hardened_container refuses them)."""

    def __post_init__(self) -> None:
        if (self.kept_volumes or self.data_volume_source) and not self.data_volume:
            raise ValueError(
                f"{self.service}: kept volumes and a restored volume only in place of a data volume"
            )
        # Anything else would be copied into the read-only root filesystem, which Docker
        # refuses at `pulumi up`: fail when the program is evaluated instead.
        roots = [CONFIG_DIR, *([self.data_volume] if self.data_volume else [])]
        stray = [u.path for u in self.uploads if not any(u.path.startswith(f"{r}/") for r in roots)]
        if stray:
            raise ValueError(
                f"{self.service}: uploads outside the container's volumes ({', '.join(roots)}) "
                f"cannot reach a read-only container: {stray}"
            )


RETRY_FAILED_CREATE = "#initerror"
"""A `replaceOnChanges` path that makes the engine replace a resource left in the state with
initialization errors (a create that failed after the provider saved it) instead of
"continuing" it with an empty update that the Docker provider answers without doing
anything (pulumi/pulumi pkg/resource/deploy/step_generator.go: applyReplaceOnChanges,
initErrorSpecialKey). So the next `up` creates it again: it fails again until the cause is
fixed, and is whole once it succeeds."""

VAULT_AGENT_ROLE = "vault-agent"
"""`vos.role` of an app's Vault Agent sidecar: the only kind of container that may join the
stack's vault network, and then no other network (policy backends-on-isolated-networks)."""


EGRESS_PROXY_ROLE = "egress-proxy"
"""`vos.role` of the egress proxy: the only other container with a way out of the stack (one
network that is not internal, its own), besides the internal ones it serves the apps on."""


def tmpfs_options(uid: int, size: str = "64m", mode: str = "0700") -> str:
    return f"rw,noexec,nosuid,nodev,size={size},mode={mode},uid={uid},gid={uid}"
