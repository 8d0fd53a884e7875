"""The Weaviate server as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, Upload, tmpfs_options
from components.weaviate import render
from components.weaviate.catalogue import WeaviateUser

UID = 0  # the image runs as root; all capabilities are dropped
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def server_spec(
    image: str, users: Sequence[WeaviateUser], keys: Any, cert: Any, key: Any, ca: Any
) -> ContainerSpec:
    return ContainerSpec(
        service="weaviate",
        image=image,
        entrypoint=render.entrypoint(),
        command=render.command(),
        user=f"{UID}:{UID}",
        env=render.environment(users),
        uploads=[
            Upload(render.KEYS_FILE, keys, UID, "0400", secret=True),
            Upload(f"{render.TLS_DIR}/server.crt", cert, UID),
            Upload(f"{render.TLS_DIR}/server.key", key, UID, "0400", secret=True),
            Upload(f"{render.TLS_DIR}/ca.crt", ca, UID),
        ],
        data_volume=render.DATA,
        tmpfs={TMP: tmpfs_options(UID)},
        # Readiness is unauthenticated; the check runs inside the container against itself,
        # so the certificate name check adds nothing here.
        healthcheck=Healthcheck(
            [
                "wget",
                "-q",
                "-O",
                "/dev/null",
                "--no-check-certificate",
                f"https://127.0.0.1:{render.HTTPS_PORT}/v1/.well-known/ready",
            ]
        ),
        internal_ports=[render.HTTPS_PORT, render.GRPC_PORT, render.METRICS_PORT],
    )
