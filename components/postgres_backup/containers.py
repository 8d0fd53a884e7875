"""The backup service as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import (
    TLS_DIR,
    BuildSource,
    ContainerSpec,
    Healthcheck,
    TlsFiles,
    Upload,
    tmpfs_options,
)
from components.postgres_backup import files
from components.postgres_backup.copies import Offsite, copies
from components.postgres_backup.definition import DEFINITION
from components.postgres_backup.weaviate_backups import WeaviateBackups, parts
from components.prometheus.web_config import METRICS_CA

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port
"""Its metrics endpoint (HTTPS, the scrape identity only)."""
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def backup_spec(
    image: str,
    build: BuildSource | None,
    schedule: str,
    retention_policy: str,
    tls: TlsFiles,
    metrics_ca: Any,
    client: tuple[Any, Any],
    offsite: Offsite | None,
    server_volume: tuple[str, str],
    weaviate: WeaviateBackups | None = None,
) -> ContainerSpec:
    """`tls`: its own certificate, for its metrics endpoint; `client`: the backup role's
    certificate and key, its login at PostgreSQL; `offsite`: where sealed copies go;
    `server_volume`: the volume PostgreSQL runs on (a change is a switch-over) and its own;
    `weaviate`: Weaviate's backups too (backup.weaviate)."""
    cert, key = client
    extra = copies(offsite)
    memory = parts(weaviate)
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        build=build,
        # The image's entrypoint is images/postgres-backup/vos_backup.py; these its arguments.
        command=[
            *("--config", files.CONFIG, "--server", files.SERVER, "--schedule", schedule),
            *("--metrics-port", str(PORT), "--metrics-ca", METRICS_CA),
            *("--tls-cert", f"{TLS_DIR}/server.crt", "--tls-key", f"{TLS_DIR}/server.key"),
            *("--server-volume", server_volume[0], "--own-volume", server_volume[1]),
            *extra.command,
            *memory.command,
        ],
        user=f"{UID}:{UID}",
        uploads=[
            Upload(files.CONFIG, files.barman_conf(), UID),
            Upload(files.SERVER_CONF, files.server_conf(retention_policy), UID),
            *tls.uploads(UID),
            Upload(METRICS_CA, metrics_ca, UID),
            Upload(files.CLIENT_CERT, cert, UID),
            # libpq refuses a key that others may read.
            Upload(files.CLIENT_KEY, key, UID, "0400", secret=True),
            *extra.uploads,
            *memory.uploads,
        ],
        env=extra.env,
        kept_volumes=extra.kept_volumes,
        shared_mounts=memory.shared_mounts,
        internal_ports=[PORT],
        data_volume=files.HOME,
        # `barman cron` starts pg_receivewal in the background and exits: docker-init as
        # PID 1 reaps what it leaves (the entrypoint reaps only its own children).
        init=True,
        tmpfs={TMP: tmpfs_options(UID)},
        # Healthy once Barman's own checks pass: PostgreSQL reached with the certificate,
        # the slot streaming, WAL arriving, a base backup within the retention policy.
        # Every 15 s: Docker runs the first check one interval after a start, and whatever
        # waits for the stack to be healthy again (an update, a restart) waits that long.
        # A first start passes only once the first WAL segment is filed (check "WAL
        # archive"), which the first round forces and waits up to 120 s for: failures in
        # the start period do not count, so it spans that wait and the round's cron (a
        # loaded host took over 90 s: 30 s + 4 x 15 s, and the first `up` failed). Past
        # the first start the check passes at once; the period costs nothing then.
        healthcheck=Healthcheck(
            ["barman", "-c", files.CONFIG, "check", "--nagios", files.SERVER],
            interval="15s",
            timeout="10s",
            retries=4,
            start_period="180s",
        ),
    )
