"""AppRoles created in parallel, as the engine creates them, on a Vault whose AppRole auth
method is not enabled yet: every create succeeds (enabling is idempotent), and a mount
path taken by another auth method is one clear error."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import hvac
import pytest

from components.vault.access import AppRoleProvider
from components.vault.connection import VaultError
from tools.dev_vault import DevVault


def _props(mount: str, role: str) -> dict[str, Any]:
    return {
        "role_name": role,
        "policies": ["default"],
        "rotation": 0,
        "mount": mount,
        "token_ttl": "1h",
        "token_max_ttl": "4h",
        "secret_id_ttl": "0",
    }


def test_parallel_creates_on_a_fresh_mount_all_succeed(
    vault_env: DevVault, root: hvac.Client
) -> None:
    mount = f"approle-{secrets.token_hex(3)}"
    assert f"{mount}/" not in root.sys.list_auth_methods()["data"]
    roles = [f"race-{i}" for i in range(12)]
    # The dynamic provider serves the engine's RPCs from a pool of worker threads.
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda r: AppRoleProvider().create(_props(mount, r)), roles))
    assert [r.outs["role_name"] for r in results] == roles
    assert root.sys.list_auth_methods()["data"][f"{mount}/"]["type"] == "approle"
    listed = root.list(f"auth/{mount}/role")["data"]["keys"]
    assert sorted(listed) == sorted(roles)


def test_a_mount_used_by_another_auth_method_is_named(
    vault_env: DevVault, root: hvac.Client
) -> None:
    mount = f"taken-{secrets.token_hex(3)}"
    root.sys.enable_auth_method("userpass", path=mount)
    with pytest.raises(VaultError, match=rf"auth/{mount} in Vault is userpass.*approleMount"):
        AppRoleProvider().create(_props(mount, "role"))
