"""The PostgreSQL server and its role job as ContainerSpecs (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import (
    TLS_DIR,
    ContainerSpec,
    Healthcheck,
    TlsFiles,
    Upload,
    tmpfs_options,
)
from components.postgres import files
from components.postgres.definition import DEFINITION
from components.postgres.roles import ADMIN_ROLE, DATABASE

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
DATA = "/var/lib/postgresql/data"
INITDB_ARGS = "--auth-local=scram-sha-256 --auth-host=scram-sha-256 --data-checksums"
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)
SERVER_VOLUME = "VOS_SERVER_VOLUME"
"""The role job's record of the volume the server runs on (read by nothing in the job)."""


def server_volume(name_prefix: str, restored: str | None) -> str:
    """The volume PostgreSQL runs on: a restore switched over to, or its own."""
    return restored or f"{name_prefix}-{DEFINITION.dns_name}-data"


def server_spec(
    image: str,
    hba: str,
    tls: TlsFiles,
    bootstrap_password: Any,
    backup: bool = False,
    restored_volume: str | None = None,
) -> ContainerSpec:
    """No wrapper around the image's entrypoint: certificates and configuration are in place
    before the first start, so initialisation and the final server read the same files.
    `backup`: the backup service streams from it (a bound on the WAL its slot holds).
    `restored_volume`: it runs on that restore instead of its own data volume."""
    return ContainerSpec(
        service="postgres",
        image=image,
        command=["postgres", "-c", f"config_file={files.CONF}"],
        user=f"{UID}:{UID}",
        env={
            "POSTGRES_USER": ADMIN_ROLE,
            "POSTGRES_DB": DATABASE,
            "POSTGRES_PASSWORD_FILE": files.BOOTSTRAP_PASSWORD_FILE,
            "POSTGRES_INITDB_ARGS": INITDB_ARGS,
            "PGDATA": DATA,
        },
        uploads=[
            Upload(files.CONF, files.postgresql_conf(backup), UID),
            Upload(files.HBA, hba, UID),
            # PostgreSQL refuses a key readable by others than its owner (0600 or stricter).
            *tls.uploads(UID, key_mode="0600"),
            Upload(files.BOOTSTRAP_PASSWORD_FILE, bootstrap_password, UID, "0400", secret=True),
        ],
        data_volume=DATA,
        data_volume_source=restored_volume,
        tmpfs={"/var/run/postgresql": tmpfs_options(UID, "16m"), TMP: tmpfs_options(UID)},
        # Over TCP, not the socket: on first boot the image's entrypoint runs a temporary
        # server with listen_addresses='' while it initialises (docker-library/postgres
        # docker-entrypoint.sh, docker_temp_server_start), which a socket probe reports as
        # ready before any client can connect. pg_isready only asks whether the server
        # accepts connections; it does not log in, so TLS and pg_hba need no exception.
        healthcheck=Healthcheck(
            [
                "pg_isready",
                "-h",
                "127.0.0.1",
                "-p",
                str(files.PORT),
                "-U",
                ADMIN_ROLE,
                "-d",
                DATABASE,
            ]
        ),
        internal_ports=[files.PORT],
    )


def role_job_spec(
    image: str, sql: Any, ca: Any, admin_cert: Any, admin_key: Any, server_volume: str
) -> ContainerSpec:
    """A one-shot psql run over verified TLS with the admin's client certificate. It is
    replaced (and so run again) whenever the SQL changes, i.e. whenever a password rotates,
    and whenever the server switches volumes (`server_volume`): a restore holds the roles
    and passwords of its moment. The image's entrypoint hands any command other than
    `postgres` straight to exec."""
    return ContainerSpec(
        service="postgres-roles",
        image=image,
        command=files.role_job_command(),
        user=f"{UID}:{UID}",
        env={SERVER_VOLUME: server_volume},
        uploads=[
            Upload(files.ROLES_SQL, sql, UID, "0400", secret=True),
            Upload(f"{TLS_DIR}/ca.crt", ca, UID),
            Upload(f"{TLS_DIR}/admin.crt", admin_cert, UID),
            Upload(f"{TLS_DIR}/admin.key", admin_key, UID, "0600", secret=True),
        ],
        tmpfs={TMP: tmpfs_options(UID)},
        one_shot=True,
    )
