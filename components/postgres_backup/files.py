"""The backup service's files, pure: Barman's configuration and how it reaches PostgreSQL."""

from __future__ import annotations

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres.roles import BACKUP_ROLE, BACKUP_SLOT, DATABASE

HOME = "/var/lib/barman"
"""Barman's home: base backups, WAL, its locks and log (the service's data volume)."""
CONFIG = f"{CONFIG_DIR}/barman.conf"
SERVERS = f"{CONFIG_DIR}/barman.d"
SERVER = "vos"
"""Barman's name for the stack's PostgreSQL: `barman backup vos`, `barman recover vos ...`."""
SERVER_CONF = f"{SERVERS}/{SERVER}.conf"
RESTORE_ROLE = "postgres-restore"
"""The `vos.role` label of a volume `vos-infra backup restore` made (tools/backup/restore.py),
which only such a volume may be switched over to (infra/restored_volume.py)."""
FINISHED_ROLE = "postgres-restore-finished"
"""The `vos.role` label of the empty volume `<restore>-finished` a restore makes last, once
PostgreSQL promoted on it: labels cannot change after a volume is made, so a restore killed
before its end (SIGKILL, a lost SSH session) leaves its volume without this one, and the
switch-over refuses it."""


OFFSITE_KEY = f"{CONFIG_DIR}/offsite.key"
"""The stack's backup key (Vault: postgres-backup/encryption-key), read at every round."""
OFFSITE_STORE = "/var/lib/vos-offsite"
"""backup.postgres.offsite `volume`: where that volume is mounted."""
S3_CREDENTIALS = f"{CONFIG_DIR}/s3-credentials"
"""backup.postgres.offsite `s3`: the store's keys, as botocore's shared credentials file."""
EGRESS_CERT = f"{TLS_DIR}/egress.crt"
EGRESS_KEY = f"{TLS_DIR}/egress.key"
OFFSITE_SCRATCH = f"{HOME}/offsite-scratch"
"""Where an object is sealed before it is put: the data volume (a base backup can be larger
than any tmpfs)."""
CLIENT_CERT = f"{TLS_DIR}/backup.crt"
CLIENT_KEY = f"{TLS_DIR}/backup.key"


def finished_marker(volume: str) -> str:
    """The name of the empty volume that says the restore into `volume` finished."""
    return f"{volume}-finished"


def conninfo(replication: bool, host: str = POSTGRES.dns_name) -> str:
    """libpq connection string: TLS with full verification, the backup role's certificate as
    its only credential. The replication one (pg_receivewal, pg_basebackup) names no
    database: pg_hba's `replication` line matches it."""
    database = "" if replication else f" dbname={DATABASE}"
    return (
        f"host={host} port={POSTGRES.tls_port}{database} user={BACKUP_ROLE} "
        f"sslmode=verify-full sslrootcert={TLS_DIR}/ca.crt sslcert={CLIENT_CERT} "
        f"sslkey={CLIENT_KEY}"
    )


def s3_credentials(access_key_id: str, secret_access_key: str) -> str:
    """botocore's shared credentials file (INI, profile `default`)."""
    return (
        f"[default]\naws_access_key_id = {access_key_id}\n"
        f"aws_secret_access_key = {secret_access_key}\n"
    )


def barman_conf() -> str:
    return f"""; Rendered by vos-infra.
[barman]
barman_user = barman
barman_home = {HOME}
configuration_files_directory = {SERVERS}
log_file = {HOME}/barman.log
log_level = INFO
"""


def server_conf(retention_policy: str) -> str:
    """Streaming only (nothing runs inside the database's container): pg_receivewal keeps
    WAL through a replication slot as it is written, pg_basebackup takes base backups.
    PostgreSQL's own configuration lives outside its data directory and is not backed up:
    the stack renders it again. A fast checkpoint starts each backup at once (a spread one
    makes it wait up to checkpoint_timeout). minimum_redundancy 0: `barman check` (the
    healthcheck) passes while the first base backup runs, however long it takes; the
    recovery window never drops the newest backup, and the backup alerts watch its age."""
    return f"""; Rendered by vos-infra.
[{SERVER}]
description = "the stack's PostgreSQL"
conninfo = {conninfo(replication=False)}
streaming_conninfo = {conninfo(replication=True)}
backup_method = postgres
streaming_archiver = on
archiver = off
slot_name = {BACKUP_SLOT}
create_slot = auto
retention_policy = {retention_policy}
minimum_redundancy = 0
immediate_checkpoint = true
"""
