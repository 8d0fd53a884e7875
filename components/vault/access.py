"""Per-service access to Vault: an ACL policy and an AppRole per service (dynamic, hvac).

Same rules as kv_secret.py: importable module, stateless providers, token from the
environment at call time, every failure a VaultError that names what to fix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import hvac.exceptions
import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.vault.connection import VaultError, connection_from_env, translated
from components.vault.diff_rules import APPROLE, POLICY


class PolicyProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return POLICY.diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = props["name"]
        with translated(connection_from_env(), f"creating policy {name}") as vault:
            try:
                existing = vault.sys.read_policy(name=name)
            except hvac.exceptions.InvalidPath:
                existing = None
            if existing:
                raise VaultError(
                    f"Vault already has a policy named {name}; refusing to overwrite what this "
                    f"stack did not create (remove it with: bao policy delete {name})"
                )
            vault.sys.create_or_update_policy(name=name, policy=props["policy"])
        return CreateResult(name, dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with translated(connection_from_env(), f"reading policy {id_}") as vault:
            try:
                policy = vault.sys.read_policy(name=id_)["data"]["rules"]
            except hvac.exceptions.InvalidPath:
                return ReadResult(None, {})
        return ReadResult(id_, {**props, "policy": policy})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with translated(connection_from_env(), f"updating policy {news['name']}") as vault:
            vault.sys.create_or_update_policy(name=news["name"], policy=news["policy"])
        return UpdateResult(dict(news))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        with translated(connection_from_env(), f"deleting policy {id_}") as vault:
            vault.sys.delete_policy(name=id_)


class Policy(pulumi.dynamic.Resource, module="vault", name="Policy"):
    name: pulumi.Output[str]
    policy: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        policy: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(PolicyProvider(), resource_name, {"name": name, "policy": policy}, opts)


def _ensure_approle_mount(vault: Any, mount: str) -> None:
    """Enable the AppRole auth method at `mount` unless it is there. The engine creates the
    AppRoles in parallel, so another create may enable it between our look and our write:
    Vault then answers "path is already in use", which is success if it is an AppRole."""

    def mounted() -> dict[str, Any] | None:
        found: dict[str, Any] | None = vault.sys.list_auth_methods()["data"].get(f"{mount}/")
        return found

    existing = mounted()
    if existing is None:
        try:
            vault.sys.enable_auth_method("approle", path=mount)
            return
        except hvac.exceptions.InvalidRequest as exc:
            if "already in use" not in str(exc):
                raise
            existing = mounted()
    if existing is None or existing.get("type") != "approle":
        kind = existing.get("type") if existing else "nothing"
        raise VaultError(
            f"auth/{mount} in Vault is {kind}, not an AppRole auth method; set "
            "vos-infra:vault.approleMount to a free path (pulumi config set --path "
            "'vos-infra:vault.approleMount' <path>)"
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _issued(secret: dict[str, Any]) -> dict[str, Any]:
    """The outputs of a newly generated secret id; its expiry as Vault states it (its TTL
    in seconds at issue; 0 means it never expires)."""
    ttl = int(secret.get("secret_id_ttl") or 0)
    expires = (_now() + dt.timedelta(seconds=ttl)).isoformat() if ttl else None
    return {
        "secret_id": secret["secret_id"],
        "secret_id_accessor": secret["secret_id_accessor"],
        "secret_id_expires_at": expires,
    }


def renewal_due(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """The secret id expires within `renew_before_s`: any `up` now issues a new one, as a
    certificate is re-issued in its early-renewal window."""
    expires = olds.get("secret_id_expires_at")
    if not expires:
        return False
    window = dt.timedelta(seconds=int(news.get("renew_before_s") or 0))
    return _now() >= dt.datetime.fromisoformat(str(expires)) - window


def _new_secret_id(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Rotation asked for, a different lifetime (the old id keeps its own), or expiry near."""
    changed = any(olds.get(k) != news.get(k) for k in ("rotation", "secret_id_ttl"))
    return changed or renewal_due(olds, news)


def _role_params(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "role_name": props["role_name"],
        "token_policies": list(props["policies"]),
        "token_ttl": props["token_ttl"],
        "token_max_ttl": props["token_max_ttl"],
        "secret_id_ttl": props["secret_id_ttl"],
        "mount_point": props["mount"],
    }


class AppRoleProvider(ResourceProvider):
    """Creates the role, reads its role id and generates one secret id (a secret output)."""

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = APPROLE.diff(olds, news)
        if not result.changes and renewal_due(olds, news):
            return DiffResult(changes=True, replaces=[])
        return result

    def create(self, props: dict[str, Any]) -> CreateResult:
        role, mount = props["role_name"], props["mount"]
        with translated(connection_from_env(), f"creating AppRole {role}") as vault:
            _ensure_approle_mount(vault, mount)
            try:
                vault.auth.approle.read_role(role_name=role, mount_point=mount)
                raise VaultError(
                    f"Vault already has an AppRole named {role} at auth/{mount}; refusing to "
                    "take over what this stack did not create "
                    f"(bao delete auth/{mount}/role/{role})"
                )
            except hvac.exceptions.InvalidPath:
                pass
            vault.auth.approle.create_or_update_approle(**_role_params(props))
            role_id = vault.auth.approle.read_role_id(role_name=role, mount_point=mount)["data"][
                "role_id"
            ]
            secret = vault.auth.approle.generate_secret_id(role_name=role, mount_point=mount)[
                "data"
            ]
        return CreateResult(f"{mount}/{role}", {**props, "role_id": role_id, **_issued(secret)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        role, mount = props["role_name"], props["mount"]
        with translated(connection_from_env(), f"reading AppRole {role}") as vault:
            try:
                vault.auth.approle.read_role(role_name=role, mount_point=mount)
            except hvac.exceptions.InvalidPath:
                return ReadResult(None, {})
        return ReadResult(id_, dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        role, mount = news["role_name"], news["mount"]
        kept = ("role_id", "secret_id", "secret_id_accessor", "secret_id_expires_at")
        outs = {**news, **{k: olds.get(k) for k in kept}}
        with translated(connection_from_env(), f"updating AppRole {role}") as vault:
            vault.auth.approle.create_or_update_approle(**_role_params(news))
            if _new_secret_id(olds, news):
                secret = vault.auth.approle.generate_secret_id(role_name=role, mount_point=mount)[
                    "data"
                ]
                if olds.get("secret_id_accessor"):
                    vault.auth.approle.destroy_secret_id_accessor(
                        role_name=role,
                        secret_id_accessor=olds["secret_id_accessor"],
                        mount_point=mount,
                    )
                outs |= _issued(secret)
        return UpdateResult(outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with translated(connection_from_env(), f"deleting AppRole {props['role_name']}") as vault:
            vault.auth.approle.delete_role(role_name=props["role_name"], mount_point=props["mount"])


class AppRole(pulumi.dynamic.Resource, module="vault", name="AppRole"):
    """A service's AppRole and one secret id of `secret_id_ttl`; an `up` within
    `renew_before_s` of its expiry issues the next one (and destroys this one)."""

    role_id: pulumi.Output[str]
    secret_id: pulumi.Output[str]
    secret_id_accessor: pulumi.Output[str]
    secret_id_expires_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        role_name: str,
        policies: list[pulumi.Input[str]],
        rotation: int,
        mount: str = "approle",
        token_ttl: str = "1h",
        token_max_ttl: str = "4h",
        secret_id_ttl: str = "2160h",
        renew_before_s: int = 720 * 3600,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "role_name": role_name,
            "policies": policies,
            "rotation": rotation,
            "mount": mount,
            "token_ttl": token_ttl,
            "token_max_ttl": token_max_ttl,
            "secret_id_ttl": secret_id_ttl,
            "renew_before_s": renew_before_s,
            "role_id": None,
            "secret_id": None,
            "secret_id_accessor": None,
            "secret_id_expires_at": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["secret_id"])
        super().__init__(
            AppRoleProvider(), resource_name, props, pulumi.ResourceOptions.merge(secret_opts, opts)
        )
