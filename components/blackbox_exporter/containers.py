"""The blackbox exporter as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.blackbox_exporter import files
from components.blackbox_exporter.definition import DEFINITION
from components.docker.spec import ContainerSpec, TlsFiles, Upload, listening_check
from components.prometheus.web_config import METRICS_CA

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def exporter_spec(image: str, tls: TlsFiles, metrics_ca: Any) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # The image's entrypoint is the exporter; these replace its default arguments.
        command=[
            f"--config.file={files.CONFIG}",
            f"--web.config.file={files.WEB_CONFIG}",
            f"--web.listen-address=:{PORT}",
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.blackbox_yml(), UID),
            Upload(files.WEB_CONFIG, files.exporter_web_config(), UID),
            *tls.uploads(UID),
            Upload(METRICS_CA, metrics_ca, UID),
        ],
        healthcheck=listening_check(PORT),
        internal_ports=[PORT],
    )
