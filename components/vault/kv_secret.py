"""A Vault KV v2 secret as a Pulumi dynamic resource (hvac).

- create: never overwrites a secret this stack did not create: the first version is
  written with check-and-set 0, which Vault refuses atomically if the path has any version,
  and the owner is then recorded in the secret's custom metadata (two round trips); a path
  that has versions is this stack's only if its metadata says so and nothing is live, or if
  its live version already holds exactly this data (a create cut short: adopted);
- update: writes a new version with check-and-set against the version in state, so old
  versions stay and a change made in Vault meanwhile is reported instead of overwritten;
- read (refresh): reports the current version and data, so drift shows as a diff;
- delete: soft-deletes every live version (history stays, undeletable) unless
  `purge_on_delete`, which destroys metadata and all versions;
- diff: replace only when mount or path changes.

The provider class lives in an importable module and holds no state: dill pickles it by
reference, and the token is read from the environment at call time (see connection.py).
"""

from __future__ import annotations

import re
from typing import Any

import hvac.exceptions
import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.vault.connection import (
    Connection,
    VaultError,
    connection_from_env,
    preflight,
    translated,
)
from components.vault.diff_rules import KV_SECRET

OWNER_KEY = "managed-by"
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
PATH = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
MOUNT = re.compile(rf"^{_SEGMENT}$")


def _connection(props: dict[str, Any]) -> Connection:
    return connection_from_env(bool(props.get("insecure_skip_verify")))


def _live_versions(metadata: dict[str, Any]) -> list[int]:
    versions = metadata.get("versions") or {}
    return sorted(
        int(number)
        for number, info in versions.items()
        if not info.get("deletion_time") and not info.get("destroyed")
    )


def _metadata(vault: Any, mount: str, path: str) -> dict[str, Any] | None:
    try:
        response = vault.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)
    except hvac.exceptions.InvalidPath:
        return None
    data: dict[str, Any] = response["data"]
    return data


def _foreign(where: str, holder: str, mount: str, path: str) -> str:
    return (
        f"Vault already holds a secret at {where} (managed by {holder}); "
        "refusing to overwrite what this stack did not create. Import it with "
        "`pulumi import` or remove it first "
        f"(bao kv metadata delete -mount={mount} {path})"
    )


def _destroyed(vault: Any, mount: str, path: str, version: int) -> str:
    try:
        vault.secrets.kv.v2.destroy_secret_versions(
            path=path, versions=[version], mount_point=mount
        )
    except hvac.exceptions.VaultError:
        return (
            f". The version {version} written before the claim was seen could not be "
            f"destroyed: bao kv destroy -mount={mount} -versions={version} {path}"
        )
    return ""


def _claim(vault: Any, mount: str, path: str, custom: dict[str, str], owner: str) -> None:
    """Record the owner, keeping whatever else the custom metadata holds (the write
    replaces all of it)."""
    vault.secrets.kv.v2.update_metadata(
        path=path, mount_point=mount, custom_metadata={**custom, OWNER_KEY: owner}
    )


def _create_again(vault: Any, props: dict[str, Any], refused: Exception) -> int:
    """The path has versions. It is this stack's if its metadata names this owner and no
    version is live (a create after a soft delete, e.g. a replace that moves back): write
    on top with check-and-set. It is also this stack's if the live current version holds
    exactly the data to write, unowned or owned by this stack: a create that stopped
    between its write and its claim, or whose result never reached the state; adopting
    it loses nothing. Anything else belongs to someone else: refused."""
    mount, path, owner = props["mount"], props["path"], props["owner"]
    where = f"{mount}/{path}"
    metadata = _metadata(vault, mount, path)
    if metadata is None:  # not a check-and-set refusal: nothing is there
        raise VaultError(f"writing {where}: Vault refused the write ({refused})")
    custom = metadata.get("custom_metadata") or {}
    holder = custom.get(OWNER_KEY)
    live = _live_versions(metadata)
    current = int(metadata.get("current_version") or 0)
    if holder == owner and not live:
        try:
            written = vault.secrets.kv.v2.create_or_update_secret(
                path=path, secret=props["data"], cas=current, mount_point=mount
            )
        except hvac.exceptions.InvalidRequest as exc:
            raise VaultError(f"writing {where}: check-and-set refused the write ({exc})") from None
        return int(written["data"]["version"])
    if holder in (None, owner) and current in live:
        stored = vault.secrets.kv.v2.read_secret_version(
            path=path, version=current, mount_point=mount, raise_on_deleted_version=True
        )["data"]["data"]
        if stored == props["data"]:
            if holder is None:
                _claim(vault, mount, path, custom, owner)
            return current
    if holder == owner:
        raise VaultError(
            f"Vault holds a live secret of this stack at {where} that is not in the stack's "
            "state and differs from what it would write; import it with `pulumi import`, or "
            f"delete it (bao kv metadata delete -mount={mount} {path}) to have it created anew"
        )
    raise VaultError(_foreign(where, holder or "nobody", mount, path))


class KvSecretProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        mount, path, data = news.get("mount"), news.get("path"), news.get("data")
        if not isinstance(mount, str) or not MOUNT.match(mount):
            failures.append(CheckFailure("mount", f"invalid KV mount name {mount!r}"))
        if not isinstance(path, str) or not PATH.match(path):
            failures.append(CheckFailure("path", f"invalid secret path {path!r} (a/b/c)"))
        if isinstance(data, dict):
            bad = [k for k, v in data.items() if not isinstance(v, str)]
            if bad:
                failures.append(CheckFailure("data", f"values must be strings: {bad}"))
        if not failures:
            try:
                preflight(_connection(news))
            except VaultError as error:
                failures.append(CheckFailure("path", str(error)))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return KV_SECRET.diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Two round trips for a new path: the first version with check-and-set 0 (Vault
        refuses it atomically if the path has any version, live or deleted: nothing is
        ever overwritten), then the ownership in its custom metadata. The write's answer
        carries the path's custom metadata, so a path claimed by someone else is seen
        without a read first. Anything else goes the careful way (`_create_again`)."""
        mount, path, owner = props["mount"], props["path"], props["owner"]
        where = f"{mount}/{path}"
        with translated(_connection(props), f"writing {where}") as vault:
            try:
                written = vault.secrets.kv.v2.create_or_update_secret(
                    path=path, secret=props["data"], cas=0, mount_point=mount
                )["data"]
            except hvac.exceptions.InvalidRequest as refused:
                version = _create_again(vault, props, refused)
            else:
                version = int(written["version"])
                custom = written.get("custom_metadata") or {}
                holder = custom.get(OWNER_KEY)
                if holder is None:
                    _claim(vault, mount, path, custom, owner)
                elif holder != owner:
                    # Claimed (metadata only, no version) by someone else: take back the
                    # version just written, so our secret does not stay there, and refuse.
                    raise VaultError(
                        _foreign(where, holder, mount, path)
                        + _destroyed(vault, mount, path, version)
                    )
        return CreateResult(where, {**props, "version": version})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        mount, path = props["mount"], props["path"]
        with translated(_connection(props), f"reading {mount}/{path}") as vault:
            metadata = _metadata(vault, mount, path)
            live = _live_versions(metadata) if metadata else []
            if not live:
                return ReadResult(None, {})  # gone (deleted in Vault): Pulumi drops it from state
            current = int(metadata["current_version"]) if metadata else live[-1]
            if current not in live:
                current = live[-1]
            secret = vault.secrets.kv.v2.read_secret_version(
                path=path, version=current, mount_point=mount, raise_on_deleted_version=True
            )
        return ReadResult(id_, {**props, "data": secret["data"]["data"], "version": current})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        mount, path = news["mount"], news["path"]
        where = f"{mount}/{path}"
        version = int(olds.get("version") or 0)
        if olds.get("data") == news.get("data"):
            return UpdateResult({**news, "version": version})
        with translated(_connection(news), f"writing {where}") as vault:
            try:
                written = vault.secrets.kv.v2.create_or_update_secret(
                    path=path, secret=news["data"], cas=version, mount_point=mount
                )
            except hvac.exceptions.InvalidRequest:
                raise VaultError(
                    f"writing {where}: the secret changed in Vault after version {version}. "
                    "Run `pulumi refresh` to see the change, then `pulumi up` to write the "
                    "stack's value as a new version"
                ) from None
        return UpdateResult({**news, "version": int(written["data"]["version"])})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        mount, path = props["mount"], props["path"]
        with translated(_connection(props), f"deleting {mount}/{path}") as vault:
            if props.get("purge_on_delete"):
                vault.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=mount)
                return
            metadata = _metadata(vault, mount, path)
            live = _live_versions(metadata) if metadata else []
            if live:
                vault.secrets.kv.v2.delete_secret_versions(
                    path=path, versions=live, mount_point=mount
                )


class KvSecret(pulumi.dynamic.Resource, module="vault", name="KvSecret"):
    """One secret in a KV v2 mount; `data` is kept secret in Pulumi end to end."""

    mount: pulumi.Output[str]
    path: pulumi.Output[str]
    data: pulumi.Output[dict[str, str]]
    """What was written (secret)."""
    version: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        *,
        mount: pulumi.Input[str],
        path: pulumi.Input[str],
        data: pulumi.Input[dict[str, pulumi.Input[str]]],
        owner: pulumi.Input[str],
        purge_on_delete: bool = False,
        insecure_skip_verify: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "mount": mount,
            "path": path,
            "data": pulumi.Output.secret(data),
            "owner": owner,
            "purge_on_delete": purge_on_delete,
            "insecure_skip_verify": insecure_skip_verify,
            "version": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["data"])
        super().__init__(
            KvSecretProvider(), name, props, pulumi.ResourceOptions.merge(secret_opts, opts)
        )
