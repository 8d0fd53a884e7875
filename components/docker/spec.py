"""What a service container is, independent of Pulumi: the contract between renderers and
the Docker component.

Files reach a container as uploads into its config volume mounted at CONFIG_DIR: Docker
refuses to copy into a read-only root filesystem, but copying into a writable volume of
the container is allowed, so every service can keep a read-only root filesystem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONFIG_DIR = "/etc/vos"


@dataclass(frozen=True)
class Upload:
    path: str
    content: Any
    """A str, or a pulumi Output[str] (kept secret when `secret`)."""
    owner: int
    mode: str = "0444"
    secret: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: list[str]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 6
    start_period: str = "30s"


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
    tmpfs: dict[str, str] = field(default_factory=dict)
    capabilities_add: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    healthcheck: Healthcheck | None = None
    internal_ports: list[int] = field(default_factory=list)
    one_shot: bool = False
    """A job that runs to completion (restart no) instead of a long-running service."""


def tmpfs_options(uid: int, size: str = "64m", mode: str = "0700") -> str:
    return f"rw,noexec,nosuid,nodev,size={size},mode={mode},uid={uid},gid={uid}"
