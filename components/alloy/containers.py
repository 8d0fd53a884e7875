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
from components.prometheus.web_config import METRICS_CA

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def server_spec(
    image: str,
    tls: TlsFiles,
    cert: Any,
    key: Any,
    metrics_ca: Any,
    vault_audit: tuple[str, str] | None = None,
) -> ContainerSpec:
    """`vault_audit`: the host folder of Vault's audit log and the stack's name."""
    audit = [HostFolder(vault_audit[0], files.VAULT_AUDIT)] if vault_audit else []
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        entrypoint=["/bin/alloy"],
        command=[
            "run",
            # TLS with the metrics CA's client certificates only (files.config_alloy: the
            # UI and API have no login of their own).
            f"--server.http.listen-addr=0.0.0.0:{PORT}",
            f"--storage.path={files.DATA}",
            "--disable-reporting",
            files.CONFIG,
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.config_alloy(vault_audit[1] if vault_audit else None), UID),
            *tls.uploads(UID),
            Upload(files.CLIENT_CERT, cert, UID),
            Upload(files.CLIENT_KEY, key, UID, "0400", secret=True),
            Upload(METRICS_CA, metrics_ca, UID),
        ],
        data_volume=files.DATA,
        host_folders=[HostFolder(files.ENGINE_LOGS, files.ENGINE_LOGS), *audit],
        tmpfs={"/tmp": tmpfs_options(UID)},  # noqa: S108 (a private tmpfs)
        # Its endpoint demands a certificate only Prometheus holds, so the check is that
        # it listens (bash, of the image's Ubuntu base; no nc there); whether it answers
        # is Prometheus's `up` (alert TargetDown), as for the exporters.
        healthcheck=Healthcheck(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"]),
        internal_ports=[PORT],
    )
