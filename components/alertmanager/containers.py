"""Alertmanager as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.alertmanager import files
from components.alertmanager.definition import DEFINITION
from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from stacks.models import ReceiverSettings

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def server_spec(
    image: str,
    web_config: Any,
    password: Any,
    tls: TlsFiles,
    receivers: Sequence[ReceiverSettings] = (),
    receiver_secrets: dict[str, Any] | None = None,
    heartbeat: str | None = None,
) -> ContainerSpec:
    """`receiver_secrets`: receiver name -> its secret (a secret Output); `heartbeat`: the
    receiver the Watchdog goes to (alerting.heartbeat)."""
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # The image's entrypoint is Alertmanager; these replace its default arguments.
        command=[
            f"--config.file={files.CONFIG}",
            f"--web.config.file={files.WEB_CONFIG}",
            f"--storage.path={files.DATA}",
            f"--web.listen-address=:{PORT}",
            # No HA gossip: its port (9094) has neither TLS nor authentication by default.
            "--cluster.listen-address=",
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.alertmanager_yml(receivers, heartbeat), UID),
            Upload(files.WEB_CONFIG, web_config, UID),
            Upload(files.CLIENT_CONFIG, files.client_config(), UID),
            Upload(files.PASSWORD_FILE, password, UID, "0400", secret=True),
            *tls.uploads(UID),
            *(
                Upload(files.receiver_secret_file(name), value, UID, "0400", secret=True)
                for name, value in (receiver_secrets or {}).items()
            ),
        ],
        data_volume=files.DATA,
        tmpfs={"/tmp": tmpfs_options(UID)},  # noqa: S108 (a private tmpfs)
        # amtool (in the image) asks the API for its status, with TLS and the password.
        healthcheck=Healthcheck(
            [
                "amtool",
                f"--alertmanager.url=https://127.0.0.1:{PORT}",
                f"--http.config.file={files.CLIENT_CONFIG}",
                "config",
                "show",
            ]
        ),
        internal_ports=[PORT],
    )
