"""Loki's store and its gate as ContainerSpecs (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import (
    ContainerSpec,
    TlsFiles,
    Upload,
    https_check,
    tmpfs_options,
)
from components.edge.definition import DEFINITION as EDGE
from components.edge.files import TMP
from components.loki import files, gate, size_guard
from components.loki.definition import DEFINITION

assert DEFINITION.image_uid is not None and EDGE.image_uid is not None
UID = DEFINITION.image_uid
GATE_UID = EDGE.image_uid
PORT = DEFINITION.tls_port


def store_spec(image: str, tls: TlsFiles, days: int, gib: int) -> ContainerSpec:
    """`days`, `gib`: retention.loki (by age Loki's own, by size its guard's)."""
    return ContainerSpec(
        service=files.STORE_NAME,
        image=image,
        # The size guard first, which then becomes loki with its own config (size_guard.py).
        entrypoint=[size_guard.SHELL, size_guard.SCRIPT],
        command=["/usr/bin/loki", f"-config.file={files.CONFIG}"],
        user=f"{UID}:{UID}",
        env=size_guard.environment(days, gib),
        uploads=[
            Upload(files.CONFIG, files.loki_yaml(days * size_guard.DAY_HOURS), UID),
            Upload(size_guard.SCRIPT, size_guard.script(), UID),
            *tls.uploads(UID),
        ],
        data_volume=files.DATA,
        tmpfs={files.TMP: tmpfs_options(UID)},
        healthcheck=size_guard.healthcheck(PORT, files.RUNTIME_FILE),
        internal_ports=[PORT],
    )


def gate_spec(
    image: str, conf: str, tls: TlsFiles, client_cas: Any, cert: Any, key: Any
) -> ContainerSpec:
    """nginx from the edge's image, as the edge runs it (its own config, its own user)."""
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        entrypoint=["nginx"],
        command=["-e", "stderr", "-c", gate.CONF, "-g", "daemon off;"],
        user=f"{GATE_UID}:{GATE_UID}",
        uploads=[
            Upload(gate.CONF, conf, GATE_UID),
            *tls.uploads(GATE_UID),
            Upload(gate.CLIENT_CAS, client_cas, GATE_UID),
            Upload(gate.GATE_CERT, cert, GATE_UID),
            Upload(gate.GATE_KEY, key, GATE_UID, "0400", secret=True),
        ],
        tmpfs={TMP: tmpfs_options(GATE_UID)},
        # Any verified certificate may ask the gate's own health path; its own will do.
        healthcheck=https_check(
            DEFINITION.dns_name, PORT, gate.HEALTH_PATH, (gate.GATE_CERT, gate.GATE_KEY)
        ),
        internal_ports=[PORT],
    )
