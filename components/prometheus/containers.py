"""The Prometheus server as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.prometheus import files
from components.prometheus.definition import DEFINITION

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port


def retention_flags(days: int, gib: int) -> list[str]:
    """Prometheus keeps `days` of samples or `gib` GiB of blocks, whichever is reached first
    (the oldest blocks go; `retention.prometheus`). The defaults as the server reports them
    back (it reads "8GB" as 8 GiB too and shows "8GiB"; it would show 14 days as "2w")."""
    return [
        f"--storage.tsdb.retention.time={days}d",
        # Whichever comes first: a busy stack never fills the volume it shares with
        # nothing, however many series its agents make.
        f"--storage.tsdb.retention.size={gib}GiB",
    ]


def server_spec(
    image: str,
    config: Any,
    web_config: Any,
    password: Any,
    tls: TlsFiles,
    scraper_cert: Any,
    scraper_key: Any,
    retention: list[str],
    secrets: dict[str, Any] | None = None,
) -> ContainerSpec:
    """`retention`: retention_flags(); `secrets`: path -> value of the other services'
    passwords it presents (Alertmanager's, Grafana's metrics password)."""
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # The image's entrypoint is the server; these replace its default arguments.
        command=[
            f"--config.file={files.CONFIG}",
            f"--web.config.file={files.WEB_CONFIG}",
            f"--storage.tsdb.path={files.DATA}",
            *retention,
            f"--web.listen-address=:{PORT}",
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, config, UID),
            Upload(files.WEB_CONFIG, web_config, UID),
            Upload(files.HEALTH_CONFIG, files.health_client_config(), UID),
            Upload(files.PASSWORD_FILE, password, UID, "0400", secret=True),
            *(
                Upload(f"{files.RULES_DIR}/{name}", text, UID)
                for name, text in files.rule_files().items()
            ),
            *tls.uploads(UID),
            Upload(files.SCRAPER_CERT, scraper_cert, UID),
            Upload(files.SCRAPER_KEY, scraper_key, UID, "0400", secret=True),
            *(Upload(path, value, UID, "0400", True) for path, value in (secrets or {}).items()),
        ],
        data_volume=files.DATA,
        tmpfs={"/tmp": tmpfs_options(UID)},  # noqa: S108 (a private tmpfs)
        # Its own endpoint demands TLS and the admin's password: promtool (in the image)
        # checks it with both (`check healthy --http.config.file`, Prometheus 2.45 and up).
        healthcheck=Healthcheck(
            [
                "promtool",
                "check",
                "healthy",
                f"--url=https://{DEFINITION.dns_name}:{PORT}",
                f"--http.config.file={files.HEALTH_CONFIG}",
            ]
        ),
        internal_ports=[PORT],
    )
