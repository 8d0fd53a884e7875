"""The incident procedure for a leaked CA key (docs/runbooks/incident-response.md), on a real
PostgreSQL 15: after `rotation.ca` the server presents a certificate of the new CA only, and
refuses the admin's client certificate of the old CA, while the new one gets in. What the
rotation re-issues is the program's (the same state, one counter bumped)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import output, write_private
from tests.integration.postgres_server import PostgresServer
from tools.offline.mocks import MockState
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

PROFILE = read_stack_config("dev")


def _files(evaluation: Evaluation, folder: Path, tag: str) -> dict[str, str]:
    def pem(name: str, field: str, file: str) -> str:
        return write_private(folder, f"{tag}-{file}", str(output(evaluation.named(name), field)))

    return {
        "ca": pem("pki-ca-cert", "certPem", "ca.crt"),
        "cert": pem("pki-postgres-admin-cert", "certPem", "admin.crt"),
        "key": pem("pki-postgres-admin-key", "privateKeyPem", "admin.key"),
    }


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("ca-incident")
    state = MockState()
    before = evaluate("dev", PROFILE, state=state)
    after = evaluate("dev", with_overrides(PROFILE, rotation={"ca": 1}), state=state)
    rendered = containers(after)
    server = PostgresServer(rendered["postgres"])
    server.start()
    try:
        job = server.run_job(rendered["postgres-roles"])
        assert job.returncode == 0, job.stderr
        yield {"server": server, "old": _files(before, folder, "old"),
               "new": _files(after, folder, "new")}  # fmt: skip
    finally:
        server.stop()


def _admin(server: PostgresServer, ca: str, cert: str, key: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="postgres", hostaddr="127.0.0.1", port=server.port, dbname="vos", user="vos_admin",
        sslmode="verify-full", sslrootcert=ca, sslcert=cert, sslkey=key, connect_timeout=10,
    )  # fmt: skip


def test_the_rotated_ca_replaced_every_certificate(rotated: dict[str, Any]) -> None:
    old, new = rotated["old"], rotated["new"]
    assert Path(old["ca"]).read_text() != Path(new["ca"]).read_text()
    assert Path(old["cert"]).read_text() != Path(new["cert"]).read_text()


def test_the_old_cas_admin_certificate_is_refused_and_the_new_one_gets_in(
    rotated: dict[str, Any],
) -> None:
    server, old, new = rotated["server"], rotated["old"], rotated["new"]
    with _admin(server, new["ca"], new["cert"], new["key"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("vos_admin",)
    with pytest.raises(psycopg.OperationalError):  # the server trusts the new CA only
        _admin(server, new["ca"], old["cert"], old["key"])


def test_a_client_that_trusts_only_the_old_ca_does_not_trust_the_server(
    rotated: dict[str, Any],
) -> None:
    server, old, new = rotated["server"], rotated["old"], rotated["new"]
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _admin(server, old["ca"], new["cert"], new["key"])
