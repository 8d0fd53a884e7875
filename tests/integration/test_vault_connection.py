"""How the providers reach Vault across calls, against a real OpenBao: one kept-alive TLS
connection for many calls, the token read at every call, the environment's proxy and CA
settings honoured though requests no longer re-reads them per request."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import urllib3.connection

from components.vault import connection
from components.vault.connection import VaultError
from components.vault.kv_secret import KvSecretProvider
from tests.helpers import throwaway_ca, write_private
from tests.integration.vault_server import secret_props
from tools.dev_vault import DevVault


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a new provider process: no session or client kept from earlier tests."""
    monkeypatch.setattr(connection, "_SESSIONS", {})
    monkeypatch.setattr(connection, "_CLIENTS", {})


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    original = urllib3.connection.HTTPSConnection.connect

    def connect(self: urllib3.connection.HTTPSConnection) -> None:
        opened.append(f"{self.host}:{self.port}")
        original(self)

    monkeypatch.setattr(urllib3.connection.HTTPSConnection, "connect", connect)
    return opened


def test_many_calls_share_one_tls_connection(vault_env: DevVault, connects: list[str]) -> None:
    provider = KvSecretProvider()
    for _ in range(10):
        created = provider.create(secret_props())
        assert created.outs is not None
        provider.update(created.id, created.outs, created.outs | {"data": {"value": "next"}})
    assert len(connects) == 1


def test_the_token_is_read_at_every_call(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, connects: list[str]
) -> None:
    provider = KvSecretProvider()
    assert provider.create(secret_props()).outs is not None
    monkeypatch.setenv("VAULT_TOKEN", "s.revoked")  # wins over VAULT_TOKEN_FILE
    with pytest.raises(VaultError, match=r"rejected the token"):
        provider.create(secret_props())
    monkeypatch.delenv("VAULT_TOKEN")
    assert provider.create(secret_props()).outs is not None
    assert len(connects) == 1  # a new token, not a new connection


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_proxy_of_the_environment_is_used(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(VaultError, match=r"cannot reach Vault"):
        KvSecretProvider().create(secret_props())


def test_no_proxy_exempts_vaults_address(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert KvSecretProvider().create(secret_props()).outs is not None


def test_requests_ca_bundle_applies_without_vault_cacert(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VAULT_CACERT")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(vault_env.ca_file))
    assert KvSecretProvider().create(secret_props()).outs is not None
    # ... and is what verifies Vault: another CA there fails verification
    monkeypatch.setattr(connection, "_SESSIONS", {})
    monkeypatch.setattr(connection, "_CLIENTS", {})
    other: Any = write_private(tmp_path, "other.pem", throwaway_ca())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    with pytest.raises(VaultError, match=r"TLS verification"):
        KvSecretProvider().create(secret_props())
