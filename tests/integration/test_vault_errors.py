"""Every way of failing to reach Vault gives one clear message naming what to fix, and
leaves nothing half-written."""

from __future__ import annotations

from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from components.vault.connection import VaultError
from components.vault.kv_secret import KvSecretProvider
from tests.helpers import throwaway_ca, write_private
from tests.integration.vault_server import (
    free_port_pair,
    point_at,
    root_client,
    secret_props,
    start_server,
)
from tools.dev_vault import DevVault


def _absent(root: hvac.Client, path: str) -> bool:
    try:
        root.secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")
    except hvac.exceptions.InvalidPath:
        return True
    return False


def test_unreachable_names_vault_addr(vault_env: DevVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", f"https://127.0.0.1:{free_port_pair()}")
    with pytest.raises(VaultError, match=r"cannot reach Vault at VAULT_ADDR=.*Connection refused"):
        KvSecretProvider().create(secret_props())


def test_wrong_ca_names_vault_cacert(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, root: hvac.Client
) -> None:
    monkeypatch.setenv("VAULT_CACERT", write_private(tmp_path, "other-ca.pem", throwaway_ca()))
    props = secret_props()
    with pytest.raises(VaultError, match=r"TLS verification .* failed.*Set VAULT_CACERT"):
        KvSecretProvider().create(props)
    assert _absent(root, props["path"])


def test_plain_http_address_is_refused(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_ADDR", vault_env.address.replace("https://", "http://"))
    with pytest.raises(VaultError, match=r"not an https:// address"):
        KvSecretProvider().create(secret_props())


def test_bad_token_names_vault_token(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, root: hvac.Client
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "s.bogus")
    props = secret_props()
    with pytest.raises(VaultError, match=r"rejected the token .*VAULT_TOKEN.* invalid or expired"):
        KvSecretProvider().create(props)
    assert _absent(root, props["path"])


def test_missing_token_is_explained(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VAULT_TOKEN_FILE", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(VaultError, match=r"no Vault token: set VAULT_TOKEN"):
        KvSecretProvider().create(secret_props())


def test_permission_denied_is_not_blamed_on_the_token(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch, root: hvac.Client
) -> None:
    weak = root.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    monkeypatch.setenv("VAULT_TOKEN", weak)
    props = secret_props()
    with pytest.raises(VaultError, match=r"permission denied"):
        KvSecretProvider().create(props)
    assert _absent(root, props["path"])


def test_sealed_vault_is_reported_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(tmp_path / "sealed")
    try:
        point_at(server, monkeypatch)
        root = root_client(server)
        root.sys.seal()
        provider = KvSecretProvider()
        with pytest.raises(VaultError, match=r"is sealed. Unseal it"):
            provider.create(secret_props())
        failures = provider.check({}, secret_props()).failures
        assert failures and "sealed" in failures[0].reason
        assert "unsealed it" in server.start()  # the dev default unseals on start
        assert provider.create(secret_props()).outs is not None
    finally:
        server.stop()
