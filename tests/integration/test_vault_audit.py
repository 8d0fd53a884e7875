"""`vos-infra vault audit --stack S` against real OpenBao servers: the embedded Vault, whose
configuration declares a file audit device, passes and names it; an OpenBao in dev mode,
which has none, fails with the fix; a token that may not list audit devices is told what
it lacks; no token at all is refused before anything is asked."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.vault.connection import Connection, VaultError
from tests.integration.vault_server import free_port_pair, root_client, start_server
from tools.cli import main as cli
from tools.cli import vault_audit
from tools.cli.stack_settings import stack_settings
from tools.dev_vault import AUDIT_PATH, DevVault, _bao_binary


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    server = start_server(tmp_path_factory.mktemp("audited"))
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _unaudited(folder: Path) -> Iterator[Connection]:
    """OpenBao in dev mode (TLS on, in memory): no audit device at all."""
    port, token = free_port_pair(), secrets.token_hex(8)
    process = subprocess.Popen(
        [_bao_binary(), "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={folder}",
         f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={token}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    connection = Connection(f"https://127.0.0.1:{port}", token, str(folder / "vault-ca.pem"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                vault_audit.devices(connection)
                break
            except (VaultError, FileNotFoundError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield connection
    finally:
        process.terminate()
        process.wait(timeout=30)


def _as(server: DevVault, token: str) -> Connection:
    return Connection(server.address, token, str(server.ca_file))


def test_a_vault_with_an_audit_device_passes_and_names_it(audited: DevVault) -> None:
    text, passed = vault_audit.report(_as(audited, audited.token_file.read_text()))
    assert passed, text
    assert f"{AUDIT_PATH}/ file {audited.audit_file}" in text


def test_a_vault_without_one_fails_with_the_fix(tmp_path: Path) -> None:
    with _unaudited(tmp_path) as connection:
        text, passed = vault_audit.report(connection)
    assert not passed
    assert "keeps no audit trail" in text and 'audit "file"' in text


def test_a_token_that_may_not_list_them_is_told_what_it_lacks(audited: DevVault) -> None:
    root = root_client(audited)
    root.sys.create_or_update_policy(
        "reads-audit-no-sudo", 'path "sys/audit" { capabilities = ["read"] }'
    )
    token = root.auth.token.create(policies=["reads-audit-no-sudo"], ttl="5m")["auth"][
        "client_token"
    ]
    with pytest.raises(VaultError, match="permission denied") as caught:
        vault_audit.report(_as(audited, token))
    assert "read and sudo on sys/audit" in str(caught.value)


def _pointed_at(monkeypatch: pytest.MonkeyPatch, server: DevVault) -> None:
    """The dev stack, its vault.address and caCertFile those of the test's server (the dev
    stack names the address its containers use, host.docker.internal)."""
    settings = stack_settings("dev")
    vault = settings.vault.model_copy(
        update={"address": server.address, "ca_cert_file": str(server.ca_file)}
    )
    moved: Any = settings.model_copy(update={"vault": vault})
    monkeypatch.setattr(vault_audit, "stack_settings", lambda stack: moved)


def test_the_command_exits_0_when_audited_and_2_without_a_token(
    audited: DevVault,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _pointed_at(monkeypatch, audited)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("VAULT_TOKEN_FILE", str(audited.token_file))
    assert cli.main(["vault", "audit", "--stack", "dev"]) == 0
    assert AUDIT_PATH in capsys.readouterr().out
    monkeypatch.delenv("VAULT_TOKEN_FILE")
    # As the Vault CLI and the program's providers: ~/.vault-token when nothing else is set.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / ".vault-token").write_text(audited.token_file.read_text())
    assert cli.main(["vault", "audit", "--stack", "dev"]) == 0
    capsys.readouterr()
    (home / ".vault-token").unlink()
    assert cli.main(["vault", "audit", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "no Vault token" in err and "sudo on sys/audit" in err, err
    assert cli.main(["vault", "audit"]) == 2
    assert "needs --stack" in capsys.readouterr().err
