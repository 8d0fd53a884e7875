"""Which inputs of a Vault resource replace it and which update it in place: written once,
read by the providers' `diff` and by the offline evaluation (tools/offline/replacement.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import DiffResult


@dataclass(frozen=True)
class DiffRules:
    replace_on: tuple[str, ...]
    """A change to any of these replaces the resource (where the object lives)."""
    update_in_place: tuple[str, ...]
    computed: tuple[str, ...] = ()
    """Outputs the provider fills in: never a reason to replace."""

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        replaces = [k for k in self.replace_on if olds.get(k) != news.get(k)]
        changed = [k for k in self.update_in_place if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces or changed), replaces=replaces)

    @property
    def in_place(self) -> frozenset[str]:
        return frozenset((*self.update_in_place, *self.computed))


KV_SECRET = DiffRules(
    replace_on=("mount", "path"),
    update_in_place=("data", "owner", "purge_on_delete", "insecure_skip_verify"),
    computed=("version",),
)
POLICY = DiffRules(replace_on=("name",), update_in_place=("policy",))
APPROLE = DiffRules(
    replace_on=("mount", "role_name"),
    # A new rotation value generates a new secret id; the role and its id stay.
    update_in_place=(
        "policies",
        "token_ttl",
        "token_max_ttl",
        "secret_id_ttl",
        "renew_before_s",
        "rotation",
    ),
    computed=("role_id", "secret_id", "secret_id_accessor", "secret_id_expires_at"),
)
