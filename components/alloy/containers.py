"""Alloy as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.alloy import files
from components.alloy.definition import DEFINITION
from components.docker.spec import (
    ContainerSpec,
    Healthcheck,
    HostFolder,
    TlsFiles,
    Upload,
    tmpfs_options,
)

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def server_spec(image: str, tls: TlsFiles, cert: Any, key: Any) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        entrypoint=["/bin/alloy"],
        command=[
            "run",
            # Its UI and API have no login: loopback only.
            f"--server.http.listen-addr=127.0.0.1:{PORT}",
            f"--storage.path={files.DATA}",
            "--disable-reporting",
            files.CONFIG,
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.config_alloy(), UID),
            *tls.uploads(UID),
            Upload(files.CLIENT_CERT, cert, UID),
            Upload(files.CLIENT_KEY, key, UID, "0400", secret=True),
        ],
        data_volume=files.DATA,
        host_folders=[HostFolder(files.ENGINE_LOGS, files.ENGINE_LOGS)],
        tmpfs={"/tmp": tmpfs_options(UID)},  # noqa: S108 (a private tmpfs)
        # curl is in the official image (its Dockerfile installs it).
        healthcheck=Healthcheck(
            ["curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{PORT}/-/ready"]
        ),
    )
