"""The Docker provider itself: the daemon is reached over its local socket, SSH, or TLS."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.rule import CONTAINER, NETWORK, REMOTE_IMAGE, Rule, Subject, get

DOCKER_TYPES = (CONTAINER, NETWORK, REMOTE_IMAGE, "docker:index/volume:Volume")


def _daemon(r: Subject) -> Iterator[str]:
    host = get(r.provider, "host", "") or ""
    if not host or host.startswith(("unix://", "npipe://", "ssh://")):
        return  # the default is the local socket
    if (
        host.startswith("tcp://")
        and get(r.provider, "certMaterial")
        and get(r.provider, "keyMaterial")
    ):
        return
    yield f"the Docker daemon is reached at {host} without TLS client certificates"


RULES = [
    Rule("docker-daemon-secured", "containers", "The Docker daemon is reached over its local "
         "socket, SSH, or TCP with TLS client certificates.", "Use DOCKER_HOST=unix:// or "
         "ssh://, or give the provider ca/cert/key material for tcp://.", Severity.CRITICAL,
         _daemon, DOCKER_TYPES),
]  # fmt: skip
