"""postgres_exporter as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import ContainerSpec, TlsFiles, Upload, listening_check
from components.postgres_exporter import files
from components.postgres_exporter.definition import DEFINITION
from components.prometheus.web_config import METRICS_CA

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def exporter_spec(image: str, tls: TlsFiles, metrics_ca: Any, cert: Any, key: Any) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # The image's entrypoint is the exporter; these are its arguments.
        command=[f"--web.config.file={files.WEB_CONFIG}", f"--web.listen-address=:{PORT}"],
        user=f"{UID}:{UID}",
        env={"DATA_SOURCE_NAME": files.data_source()},
        uploads=[
            Upload(files.WEB_CONFIG, files.exporter_web_config(), UID),
            *tls.uploads(UID),
            Upload(METRICS_CA, metrics_ca, UID),
            Upload(files.CLIENT_CERT, cert, UID),
            # lib/pq refuses a key that others may read.
            Upload(files.CLIENT_KEY, key, UID, "0400", secret=True),
        ],
        healthcheck=listening_check(PORT),
        internal_ports=[PORT],
    )
