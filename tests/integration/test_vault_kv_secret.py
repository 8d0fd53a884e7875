"""The KV v2 secret provider against a real OpenBao server."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlsplit

import hvac
import hvac.exceptions
import pytest
import requests
from pulumi.dynamic.dynamic import serialize_provider

from components.vault.connection import VaultError
from components.vault.kv_secret import KvSecretProvider
from tests.integration.vault_server import secret_props
from tools.dev_vault import DevVault

MOUNT = "secret"


def _version(root: hvac.Client, path: str, version: int) -> dict[str, str]:
    response = root.secrets.kv.v2.read_secret_version(
        path=path, version=version, mount_point=MOUNT, raise_on_deleted_version=True
    )
    data: dict[str, str] = response["data"]["data"]
    return data


def test_lifecycle_keeps_history_and_reports_drift(vault_env: DevVault, root: hvac.Client) -> None:
    provider = KvSecretProvider()
    props = secret_props()
    created = provider.create(props)
    assert created.id == f"{MOUNT}/{props['path']}"
    assert created.outs is not None and created.outs["version"] == 1

    read = provider.read(created.id, created.outs)
    assert read.outs is not None and read.outs["data"] == {"value": "first"}

    updated = provider.update(created.id, created.outs, props | {"data": {"value": "second"}})
    assert updated.outs is not None and updated.outs["version"] == 2
    assert _version(root, props["path"], 1) == {"value": "first"}  # history kept
    assert _version(root, props["path"], 2) == {"value": "second"}

    # someone changes it directly in Vault: refresh sees the new version and data
    root.secrets.kv.v2.create_or_update_secret(
        path=props["path"], secret={"value": "tampered"}, mount_point=MOUNT
    )
    refreshed = provider.read(created.id, updated.outs)
    assert refreshed.outs is not None
    assert refreshed.outs["version"] == 3 and refreshed.outs["data"] == {"value": "tampered"}
    diff = provider.diff(created.id, refreshed.outs, props | {"data": {"value": "second"}})
    assert diff.changes and not diff.replaces

    # an update that has not seen the change is refused, not silently applied
    with pytest.raises(VaultError, match=r"changed in Vault after version 2.*pulumi refresh"):
        provider.update(created.id, updated.outs, props | {"data": {"value": "third"}})
    assert _version(root, props["path"], 3) == {"value": "tampered"}

    # after refresh the update writes a new version on top of the drifted one
    fixed = provider.update(created.id, refreshed.outs, props | {"data": {"value": "third"}})
    assert fixed.outs is not None and fixed.outs["version"] == 4

    # soft delete: no live version, history still there and recoverable
    provider.delete(created.id, fixed.outs)
    with pytest.raises(hvac.exceptions.InvalidPath):
        _version(root, props["path"], 4)
    metadata = root.secrets.kv.v2.read_secret_metadata(path=props["path"], mount_point=MOUNT)[
        "data"
    ]
    assert metadata["current_version"] == 4
    root.secrets.kv.v2.undelete_secret_versions(path=props["path"], versions=[4], mount_point=MOUNT)
    assert _version(root, props["path"], 4) == {"value": "third"}
    assert provider.read(created.id, fixed.outs).outs is not None


def test_purge_on_delete_destroys_history(vault_env: DevVault, root: hvac.Client) -> None:
    provider = KvSecretProvider()
    props = secret_props(purge_on_delete=True)
    created = provider.create(props)
    assert created.outs is not None
    provider.delete(created.id, created.outs)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_metadata(path=props["path"], mount_point=MOUNT)
    assert provider.read(created.id, created.outs).id is None  # refresh drops it from state


def test_check_and_set_refuses_to_clobber_a_foreign_secret(
    vault_env: DevVault, root: hvac.Client
) -> None:
    props = secret_props()
    root.secrets.kv.v2.create_or_update_secret(
        path=props["path"], secret={"value": "theirs"}, mount_point=MOUNT
    )
    with pytest.raises(VaultError, match=rf"already holds a secret at {MOUNT}/{props['path']}"):
        KvSecretProvider().create(props)
    assert _version(root, props["path"], 1) == {"value": "theirs"}
    metadata = root.secrets.kv.v2.read_secret_metadata(path=props["path"], mount_point=MOUNT)[
        "data"
    ]
    assert metadata["current_version"] == 1 and not metadata.get("custom_metadata")


def test_another_stacks_secret_is_not_ours(vault_env: DevVault) -> None:
    props = secret_props()
    provider = KvSecretProvider()
    created = provider.create(props)
    assert created.outs is not None
    provider.delete(created.id, created.outs)  # soft-deleted, owner recorded
    with pytest.raises(VaultError, match=r"managed by vos-infra/itest"):
        provider.create(props | {"owner": "vos-infra/other"})
    # the owning stack may create it again (e.g. a replace that moves back)
    again = provider.create(props | {"data": {"value": "again"}})
    assert again.outs is not None and again.outs["version"] == 2


@pytest.fixture
def requests_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request the provider sends to Vault ("METHOD /v1/path")."""
    sent: list[str] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        sent.append(f"{request.method} {urlsplit(request.url or '').path}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return sent


def test_a_new_secret_takes_two_round_trips_and_an_update_one(
    vault_env: DevVault, root: hvac.Client, requests_sent: list[str]
) -> None:
    provider = KvSecretProvider()
    props = secret_props()
    created = provider.create(props)
    path = props["path"]
    assert requests_sent == [f"POST /v1/secret/data/{path}", f"POST /v1/secret/metadata/{path}"]
    metadata = root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=MOUNT)["data"]
    assert metadata["custom_metadata"] == {"managed-by": "vos-infra/itest"}
    requests_sent.clear()
    assert created.outs is not None
    provider.update(created.id, created.outs, props | {"data": {"value": "second"}})
    assert requests_sent == [f"POST /v1/secret/data/{path}"]


def test_a_path_claimed_by_another_owner_keeps_no_version_of_ours(
    vault_env: DevVault, root: hvac.Client
) -> None:
    props = secret_props()
    path = props["path"]
    root.secrets.kv.v2.update_metadata(
        path=path, mount_point=MOUNT, custom_metadata={"managed-by": "someone/else"}
    )
    with pytest.raises(VaultError, match=r"managed by someone/else") as refused:
        KvSecretProvider().create(props)
    assert "could not be destroyed" not in str(refused.value)
    metadata = root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=MOUNT)["data"]
    assert metadata["custom_metadata"] == {"managed-by": "someone/else"}
    assert all(v["destroyed"] for v in metadata["versions"].values())
    with pytest.raises(hvac.exceptions.InvalidPath):
        _version(root, path, 1)


def test_claiming_keeps_the_paths_other_custom_metadata(
    vault_env: DevVault, root: hvac.Client
) -> None:
    props = secret_props()
    root.secrets.kv.v2.update_metadata(
        path=props["path"], mount_point=MOUNT, custom_metadata={"team": "platform"}
    )
    created = KvSecretProvider().create(props)
    assert created.outs is not None and created.outs["version"] == 1
    metadata = root.secrets.kv.v2.read_secret_metadata(path=props["path"], mount_point=MOUNT)
    custom = metadata["data"]["custom_metadata"]
    assert custom == {"team": "platform", "managed-by": "vos-infra/itest"}


def test_a_create_cut_short_is_adopted_only_with_the_same_data(
    vault_env: DevVault, root: hvac.Client
) -> None:
    # the first version written, the claim never made (the provider stopped in between)
    props = secret_props(data={"value": secrets.token_urlsafe(24)})
    path = props["path"]
    root.secrets.kv.v2.create_or_update_secret(
        path=path, secret=props["data"], cas=0, mount_point=MOUNT
    )
    created = KvSecretProvider().create(props)
    assert created.outs is not None and created.outs["version"] == 1
    metadata = root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=MOUNT)["data"]
    assert metadata["current_version"] == 1  # nothing written again
    assert metadata["custom_metadata"] == {"managed-by": "vos-infra/itest"}
    # ... and its result lost before the state: the next create adopts it again
    assert KvSecretProvider().create(props).outs == created.outs
    # other data under this stack's name, not in its state: refused, nothing written
    with pytest.raises(VaultError, match=r"live secret of this stack.*pulumi import"):
        KvSecretProvider().create(props | {"data": {"value": "other"}})
    # another stack with the same data: still not its secret
    with pytest.raises(VaultError, match=r"managed by vos-infra/itest"):
        KvSecretProvider().create(props | {"owner": "vos-infra/other"})
    assert _version(root, path, 1) == props["data"]
    metadata = root.secrets.kv.v2.read_secret_metadata(path=path, mount_point=MOUNT)["data"]
    assert metadata["current_version"] == 1


def test_diff_replaces_only_on_mount_or_path() -> None:
    provider = KvSecretProvider()
    olds = secret_props() | {"version": 1}
    assert provider.diff("x", olds, olds).changes is False
    data = provider.diff("x", olds, olds | {"data": {"value": "new"}})
    assert data.changes and data.replaces == []
    moved = provider.diff("x", olds, olds | {"path": "vos/elsewhere"})
    assert moved.replaces == ["path"]
    assert provider.diff("x", olds, olds | {"mount": "kv"}).replaces == ["mount"]


def test_serialized_provider_holds_no_token(vault_env: DevVault) -> None:
    token = vault_env.token_file.read_text()
    blob = base64.b64decode(serialize_provider(KvSecretProvider()))
    assert token.encode() not in blob
    assert b"components.vault.kv_secret" in blob and len(blob) < 200  # pickled by reference


def test_check_fails_early_with_the_reason(
    vault_env: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = KvSecretProvider()
    assert provider.check({}, secret_props()).failures == []
    monkeypatch.setenv("VAULT_TOKEN", "s.not-a-real-token")
    failures = provider.check({}, secret_props()).failures
    assert len(failures) == 1 and "VAULT_TOKEN" in failures[0].reason
    bad = provider.check({}, secret_props(path="/leading/slash", mount="Bad Mount"))
    assert {f.property for f in bad.failures} == {"path", "mount"}
