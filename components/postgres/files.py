"""PostgreSQL's files, pure: server settings, host-based authentication, role job SQL."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.postgres.definition import DEFINITION
from components.postgres.roles import ADMIN_ROLE, BACKUP_SLOT, DATABASE, Role

PORT = DEFINITION.tls_port
CONF = f"{CONFIG_DIR}/postgresql.conf"
HBA = f"{CONFIG_DIR}/pg_hba.conf"
BOOTSTRAP_PASSWORD_FILE = f"{CONFIG_DIR}/secrets/bootstrap-password"
ROLES_SQL = f"{CONFIG_DIR}/roles.sql"


WAL_KEPT_FOR_BACKUP = "4GB"
"""How much WAL the backup service's replication slot may hold back on the database's own
volume while the backup service is away: past it PostgreSQL drops the slot (and the backup
alerts fire) instead of filling its disk."""


def postgresql_conf(backup: bool = False) -> str:
    slot = f"max_slot_wal_keep_size = {WAL_KEPT_FOR_BACKUP}\n" if backup else ""
    return f"""# Rendered by vos-infra. TLS only, SCRAM only.
listen_addresses = '*'
port = {PORT}
hba_file = '{HBA}'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '{TLS_DIR}/server.crt'
ssl_key_file = '{TLS_DIR}/server.key'
ssl_ca_file = '{TLS_DIR}/ca.crt'
ssl_min_protocol_version = 'TLSv1.2'
ssl_prefer_server_ciphers = on
max_connections = 200
log_connections = on
log_disconnections = on
log_line_prefix = '%m [%p] %q%u@%d '
{slot}"""


def pg_hba_conf(
    roles: Sequence[Role], monitor: str | None = None, backup: str | None = None
) -> str:
    """First match wins: every network connection must be TLS; each service role may reach
    only the platform database with SCRAM; the admin, the monitor role (postgres_exporter)
    and the backup role only with a client certificate, and only the backup role may open
    a replication connection (`all` does not match those)."""
    lines = [
        "# Rendered by vos-infra. First matching line wins.",
        "# TYPE     DATABASE  USER  ADDRESS  METHOD",
        # Inside the container only (the image's init scripts use the socket with a password).
        "local      all       all            scram-sha-256",
        "hostnossl  all       all   all      reject",
        f"hostssl    all       {ADMIN_ROLE}  all  cert",
    ]
    if monitor:
        lines.append(f"hostssl    {DATABASE}  {monitor}  all  cert")
    if backup:
        lines.append(f"hostssl    {DATABASE}  {backup}  all  cert")
        lines.append(f"hostssl    replication  {backup}  all  cert")
    lines += [f"hostssl    {DATABASE}  {role.name}  all  scram-sha-256" for role in roles]
    lines.append("host       all       all   all      reject")
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _create_role(name: str) -> str:
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(name)}) "
        f"THEN CREATE ROLE {name}; END IF; END $$;"
    )


def monitor_sql(name: str) -> list[str]:
    """postgres_exporter's role: reads statistics and settings (pg_monitor, which it must
    inherit to use), owns nothing, has no password (certificate login only)."""
    return [
        _create_role(name),
        f"ALTER ROLE {name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS INHERIT CONNECTION LIMIT 5 PASSWORD NULL;",
        f"COMMENT ON ROLE {name} IS 'managed by vos-infra for postgres-exporter';",
        f"GRANT pg_monitor TO {name};",
        f"GRANT CONNECT ON DATABASE {DATABASE} TO {name};",
    ]


def backup_sql(name: str) -> list[str]:
    """The backup service's role (Barman, backup_method = postgres): replication, the
    settings and statistics it checks, the backup and WAL functions it calls (Barman's
    documented grants for a non-superuser on PostgreSQL 15+); no data, no password
    (certificate login only)."""
    return [
        _create_role(name),
        f"ALTER ROLE {name} WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOBYPASSRLS INHERIT CONNECTION LIMIT 5 PASSWORD NULL;",
        f"COMMENT ON ROLE {name} IS 'managed by vos-infra for postgres-backup';",
        f"GRANT pg_read_all_settings, pg_read_all_stats, pg_checkpoint TO {name};",
        f"GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO {name};",
        f"GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO {name};",
        f"GRANT EXECUTE ON FUNCTION pg_switch_wal() TO {name};",
        f"GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO {name};",
        f"GRANT CONNECT ON DATABASE {DATABASE} TO {name};",
    ]


def roles_sql(
    admin_verifier: str,
    roles: Sequence[tuple[Role, str]],
    monitor: str | None = None,
    backup: str | None = None,
) -> str:
    """Idempotent SQL the role job runs as the admin over TLS: create or update every role
    with its pre-hashed verifier, give each its own schema and nothing else, the monitor
    role (when the exporter runs), the backup role (when the backup service runs), and
    disable the login of managed roles that are no longer configured."""
    out = [
        "-- Rendered by vos-infra; run by the postgres-roles job in one transaction.",
        f"ALTER ROLE {ADMIN_ROLE} WITH PASSWORD {_literal(admin_verifier)};",
        f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC;",
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
    ]
    for role, verifier in roles:
        name = role.name
        out += [
            _create_role(name),
            f"ALTER ROLE {name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            f"NOBYPASSRLS NOINHERIT CONNECTION LIMIT 50 PASSWORD {_literal(verifier)};",
            f"COMMENT ON ROLE {name} IS 'managed by vos-infra for {role.service}';",
            f"GRANT CONNECT ON DATABASE {DATABASE} TO {name};",
            f"CREATE SCHEMA IF NOT EXISTS {name} AUTHORIZATION {name};",
            f"REVOKE ALL ON SCHEMA {name} FROM PUBLIC;",
            f"ALTER ROLE {name} SET search_path = {name};",
        ]
    if monitor:
        out += monitor_sql(monitor)
    if backup:
        out += backup_sql(backup)
    else:
        # A slot nobody reads holds WAL back without bound once max_slot_wal_keep_size
        # (set only while the backup service runs) is gone: drop it with the service.
        out.append(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "  # noqa: S608
            f"WHERE slot_name = {_literal(BACKUP_SLOT)} AND NOT active;"
        )
    kept = [role.name for role, _ in roles] + [name for name in (monitor, backup) if name]
    keep = ", ".join(_literal(name) for name in kept) or "''"
    # Identifiers come from Role names, which roles.roles() checks are plain SQL
    # identifiers; every value is a quoted literal.
    out.append(
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles "  # noqa: S608
        "WHERE shobj_description(oid, 'pg_authid') LIKE 'managed by vos-infra%' "
        f"AND rolname NOT IN ({keep}) LOOP "
        "EXECUTE format('ALTER ROLE %I WITH NOLOGIN', r.rolname); END LOOP; END $$;"
    )
    return "\n".join(out) + "\n"


def admin_conninfo(host: str = "postgres") -> str:
    """How the role job reaches the server: TLS, full verification, client certificate."""
    return (
        f"host={host} port={PORT} dbname={DATABASE} user={ADMIN_ROLE} sslmode=verify-full "
        f"sslrootcert={CONFIG_DIR}/tls/ca.crt sslcert={CONFIG_DIR}/tls/admin.crt "
        f"sslkey={CONFIG_DIR}/tls/admin.key"
    )


def role_job_command(host: str = "postgres") -> list[str]:
    return [
        "psql",
        admin_conninfo(host),
        "--no-psqlrc",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        ROLES_SQL,
    ]


def client_url(role: str, password: str, host: str = "postgres") -> str:
    """The connection string a service uses: TLS with full verification against our CA
    (mounted at /etc/vos/tls/ca.crt in every service container), its own role and database."""
    return (
        f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}@{host}:{PORT}/{DATABASE}"
        f"?sslmode=verify-full&sslrootcert={CONFIG_DIR}/tls/ca.crt"
    )
