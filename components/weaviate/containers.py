"""The Weaviate server as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.weaviate import files
from components.weaviate.definition import DEFINITION
from components.weaviate.users import WeaviateUser

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def server_spec(
    image: str, users: Sequence[WeaviateUser], keys: Any, tls: TlsFiles
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
            *tls.uploads(UID),
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
