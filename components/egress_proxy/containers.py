"""The egress proxy as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from components.docker.spec import (
    EGRESS_PROXY_ROLE,
    ContainerSpec,
    Healthcheck,
    TlsFiles,
    Upload,
    tmpfs_options,
)
from components.egress_proxy import files
from components.egress_proxy.definition import DEFINITION

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid


def proxy_spec(image: str, conf: str, tls: TlsFiles) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # Squid itself in the foreground as the proxy user (no root start, no privilege
        # drop), with the program's configuration; errors to stderr.
        entrypoint=["squid"],
        command=["-N", "-f", files.CONF],
        user=f"{UID}:{UID}",
        uploads=[Upload(files.CONF, conf, UID), *tls.uploads(UID)],
        tmpfs={files.TMP: tmpfs_options(UID)},
        # Squid's own liveness check (signal 0 to the pid in its pid file), which it refuses
        # when Squid is PID 1 ("unreasonably small PID value", seen on dockerd in
        # tests/docker): Docker's init runs first. A connection to the listener would do too,
        # but Squid logs every one, also those closed before a request.
        healthcheck=Healthcheck(["squid", "-k", "check", "-f", files.CONF]),
        init=True,
        internal_ports=[DEFINITION.tls_port],
        role=EGRESS_PROXY_ROLE,
    )
