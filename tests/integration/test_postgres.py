"""PostgreSQL started with exactly the files the program renders, probed with real clients.

What runs: Debian's postgresql-15 server, initialised the way the official image's
entrypoint does it, the rendered postgresql.conf / pg_hba.conf / certificates, then the
rendered role job (psql over verified TLS with the admin's client certificate).
Remapped for the test: /etc/vos -> a temporary folder, the image uid -> the local postgres
account, the listen address -> 127.0.0.1 and a free port.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pulumi.runtime.sync_await import _sync_await

from tests.helpers import output, write_private
from tests.integration.postgres_cluster import PROFILE, Cluster
from tests.integration.tls_probe import handshake
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import with_overrides


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    result = Cluster(tmp_path_factory.mktemp("pg-clients"))
    try:
        yield result
    finally:
        result.server.stop()


def test_verify_full_connection_uses_tls_and_scram(cluster: Cluster) -> None:
    with cluster.connect("api_gateway", cluster.password("api-gateway")) as conn:
        row = conn.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
        assert row is not None and row[0] is True and row[1] in {"TLSv1.2", "TLSv1.3"}
        assert conn.execute("SELECT current_setting('password_encryption')").fetchone() == (
            "scram-sha-256",
        )


def test_the_services_connection_string_verifies_the_server(cluster: Cluster) -> None:
    platform = cluster.evaluation.result
    url = _sync_await(platform.services["postgres"].client_urls["api-gateway"].future())
    assert _sync_await(platform.services["postgres"].client_urls["api-gateway"].is_secret())
    assert "sslmode=verify-full" in url and url.startswith("postgresql://api_gateway:")
    # as the gateway container would use it; only the CA path and the address are remapped
    local = url.replace("/etc/vos/tls/ca.crt", cluster.ca).replace(
        "@postgres:5432/", f"@postgres:{cluster.server.port}/"
    )
    with psycopg.connect(local + "&hostaddr=127.0.0.1", connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("api_gateway",)


def test_plaintext_is_refused(cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match=r"no encryption|pg_hba.conf rejects"):
        cluster.connect("api_gateway", cluster.password("api-gateway"), sslmode="disable")


@pytest.mark.parametrize(
    ("user", "password_of", "expected"),
    [
        ("api_gateway", None, "password authentication failed"),
        ("nobody", "api-gateway", 'pg_hba.conf rejects connection .* user "nobody"'),
        ("vos_admin", "api-gateway", "requires a valid client certificate"),
    ],
    ids=["wrong password", "unknown user", "admin by password"],
)
def test_bad_credentials_are_refused(
    cluster: Cluster, user: str, password_of: str | None, expected: str
) -> None:
    password = cluster.password(password_of) if password_of else "not-the-password-0"
    with pytest.raises(psycopg.OperationalError, match=expected):
        cluster.connect(user, password)


def test_untrusted_ca_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    other = evaluate("dev", PROFILE)  # another stack: same names, different CA
    ca = tmp_path / "other-ca.crt"
    ca.write_text(output(other.named("pki-ca-cert"), "certPem"))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        cluster.connect("api_gateway", cluster.password("api-gateway"), sslrootcert=str(ca))


def test_wrong_host_name_is_refused(cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        cluster.connect("api_gateway", cluster.password("api-gateway"), host="rabbitmq")


def test_tls_1_1_is_refused_and_1_2_accepted(cluster: Cluster) -> None:
    assert handshake(cluster.server.port, ssl.TLSVersion.TLSv1_2, postgres=True) == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        handshake(cluster.server.port, ssl.TLSVersion.TLSv1_1, postgres=True)


def test_admin_authenticates_only_with_its_client_certificate(
    cluster: Cluster, tmp_path: Path
) -> None:
    evaluation = cluster.evaluation
    cert = tmp_path / "admin.crt"
    key = tmp_path / "admin.key"
    cert.write_text(output(evaluation.named("pki-postgres-admin-cert"), "certPem"))
    key.write_text(output(evaluation.named("pki-postgres-admin-key"), "privateKeyPem"))
    key.chmod(0o600)
    with cluster.connect("vos_admin", None, sslcert=str(cert), sslkey=str(key)) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)
    # a server certificate of the same CA is no client identity for vos_admin
    server_cert = tmp_path / "server.crt"
    server_key = tmp_path / "server.key"
    server_cert.write_text(output(evaluation.named("pki-postgres-cert"), "certPem"))
    server_key.write_text(output(evaluation.named("pki-postgres-key"), "privateKeyPem"))
    server_key.chmod(0o600)
    with pytest.raises(psycopg.OperationalError):
        cluster.connect("vos_admin", None, sslcert=str(server_cert), sslkey=str(server_key))


def _pair(cluster: Cluster, folder: Path, name: str) -> dict[str, str]:
    evaluation = cluster.evaluation
    return {
        "sslcert": write_private(
            folder, f"{name}.crt", output(evaluation.named(f"pki-{name}-cert"), "certPem")
        ),
        "sslkey": write_private(
            folder, f"{name}.key", output(evaluation.named(f"pki-{name}-key"), "privateKeyPem")
        ),
    }


def test_the_monitor_role_reads_statistics_and_nothing_else(
    cluster: Cluster, tmp_path: Path
) -> None:
    """postgres_exporter's role: certificate login, pg_monitor (inherited), no data."""
    monitor = _pair(cluster, tmp_path, "postgres-monitor")
    agent = cluster.connect("agent_primary", cluster.password("primary-agent"), autocommit=True)
    with agent, cluster.connect("vos_monitor", None, **monitor) as conn:
        agent.execute("SELECT 'the agent was here'")
        flags = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, False, True)
        granted = conn.execute(
            "SELECT array_agg(b.rolname ORDER BY b.rolname) FROM pg_auth_members m "
            "JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles r ON r.oid = m.member "
            "WHERE r.rolname = current_user"
        ).fetchone()
        assert granted == (["pg_monitor"],)
        # What pg_monitor is for: another role's session and query, which a plain role
        # sees as '<insufficient privilege>'.
        seen = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE usename = 'agent_primary'"
        ).fetchall()
        assert ("SELECT 'the agent was here'",) in seen
        assert conn.execute("SELECT has_schema_privilege('agent_primary', 'USAGE')").fetchone() == (
            False,
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.mine (x int)")


def test_the_monitor_role_logs_in_only_with_its_own_certificate(
    cluster: Cluster, tmp_path: Path
) -> None:
    # The admin's certificate (same CA, another name) is no identity for vos_monitor, and
    # no password is accepted (the role has none; pg_hba demands a certificate).
    with pytest.raises(psycopg.OperationalError, match="certificate authentication failed"):
        cluster.connect("vos_monitor", None, **_pair(cluster, tmp_path, "postgres-admin"))
    with pytest.raises(psycopg.OperationalError):
        cluster.connect("vos_monitor", cluster.password("primary-agent"))
    # Control: its own pair logs in.
    with cluster.connect("vos_monitor", None, **_pair(cluster, tmp_path, "postgres-monitor")):
        pass


def test_each_role_is_least_privileged(cluster: Cluster) -> None:
    with cluster.connect("agent_weather", cluster.password("weather-agent")) as agent:
        agent.execute("CREATE TABLE memories (id serial PRIMARY KEY, body text)")
        agent.execute("INSERT INTO memories (body) VALUES ('it rains')")
        agent.commit()
        flags = agent.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, False)
    with cluster.connect("api_gateway", cluster.password("api-gateway")) as gateway:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema agent_weather"):
            gateway.execute("SELECT * FROM agent_weather.memories")
        gateway.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            gateway.execute("CREATE TABLE public.sneaky (x int)")
        gateway.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            gateway.execute("SELECT rolpassword FROM pg_authid")
    with pytest.raises(
        psycopg.OperationalError, match=r'pg_hba.conf rejects .* database "postgres"'
    ):
        cluster.connect("api_gateway", cluster.password("api-gateway"), dbname="postgres")


def test_rotation_changes_the_password_and_keeps_the_data(cluster: Cluster) -> None:
    old = cluster.password("primary-agent")
    with cluster.connect("agent_primary", old) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('before rotation')")
        conn.commit()

    rotated = evaluate(
        "dev", with_overrides(PROFILE, rotation={"postgres": 1}), state=cluster.state
    )
    replaced = {r.name for r in rotated.registrations if r.operation == "replace"}
    assert "postgres-server" not in replaced and "postgres-roles" in replaced
    job = cluster.server.run_job(containers(rotated)["postgres-roles"])
    assert job.returncode == 0, job.stderr

    new = str(output(rotated.named("credentials-primary-agent-postgres-password"), "result"))
    assert new != old
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        cluster.connect("agent_primary", old)
    with cluster.connect("agent_primary", new) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("before rotation",)]
    cluster.evaluation = rotated  # later tests use the current passwords


def test_roles_of_removed_agents_lose_their_login(cluster: Cluster) -> None:
    fewer = evaluate(
        "dev",
        with_overrides(
            PROFILE,
            rotation={"postgres": 1},
            agents=[
                {
                    "name": "primary",
                    "image": "vos/primary-agent:1.0.0",
                    "memoryMb": 512,
                    "cpus": 0.5,
                }
            ],
        ),
        state=cluster.state,
    )
    job = cluster.server.run_job(containers(fewer)["postgres-roles"])
    assert job.returncode == 0, job.stderr
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        cluster.connect("agent_weather", cluster.password("weather-agent"))


def test_job_is_refused_without_the_admin_certificate(cluster: Cluster) -> None:
    job: RenderedContainer = containers(cluster.evaluation)["postgres-roles"]
    broken = RenderedContainer(
        **{
            **job.__dict__,
            "files": {path: f for path, f in job.files.items() if not path.endswith("admin.key")},
        }
    )
    result = cluster.server.run_job(broken)
    assert result.returncode != 0
