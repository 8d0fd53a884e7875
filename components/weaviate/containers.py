"""The Weaviate server as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, Upload, tmpfs_options
from components.weaviate import files
from components.weaviate.users import WeaviateUser

UID = 0  # the image runs as root; all capabilities are dropped
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def server_spec(
    image: str, users: Sequence[WeaviateUser], keys: Any, cert: Any, key: Any, ca: Any
) -> ContainerSpec:
    return ContainerSpec(
        service="weaviate",
        image=image,
        entrypoint=files.entrypoint(),
        command=files.command(),
        user=f"{UID}:{UID}",
        env=files.environment(users),
        uploads=[
            Upload(files.KEYS_FILE, keys, UID, "0400", secret=True),
            Upload(f"{files.TLS_DIR}/server.crt", cert, UID),
            Upload(f"{files.TLS_DIR}/server.key", key, UID, "0400", secret=True),
            Upload(f"{files.TLS_DIR}/ca.crt", ca, UID),
        ],
        data_volume=files.DATA,
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
                f"https://127.0.0.1:{files.HTTPS_PORT}/v1/.well-known/ready",
            ]
        ),
        internal_ports=[files.HTTPS_PORT, files.GRPC_PORT, files.METRICS_PORT],
    )
