"""Jaeger v2 as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.app.contract import JAEGER_OTLP_GRPC_PORT
from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.jaeger import files
from components.jaeger.definition import DEFINITION

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid


def server_spec(image: str, tls: TlsFiles, readers_ca: Any) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # The image's entrypoint is jaeger; v2 reads only this file (no v1 variables).
        command=[f"--config={files.CONFIG}"],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.jaeger_yaml(), UID),
            *tls.uploads(UID),
            Upload(files.READERS_CA, readers_ca, UID),
        ],
        # The image declares /tmp a volume; here it is a private tmpfs. Traces live in
        # memory (bounded: files.MAX_TRACES).
        tmpfs={"/tmp": tmpfs_options(UID)},  # noqa: S108
        # healthcheckv2 on loopback, plain HTTP (nothing else reaches it); busybox wget is
        # in the image's Alpine base.
        healthcheck=Healthcheck(
            ["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{files.HEALTH_PORT}/status"]
        ),
        internal_ports=[JAEGER_OTLP_GRPC_PORT, files.OTLP_HTTP_PORT, DEFINITION.tls_port],
    )
