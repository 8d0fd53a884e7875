"""Whether a changed resource is updated in place or replaced, per provider, as the real
providers decide it (their ForceNew / replaces rules), so an offline evaluation can say
what an update would do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.vault.diff_rules import APPROLE, KV_SECRET, POLICY

# Inputs the providers can change in place; any other changed input forces replacement.
_IN_PLACE: dict[str, frozenset[str]] = {
    # terraform-provider-docker: memory, CPU, restart and healthcheck update in place.
    "docker:index/container:Container": frozenset(
        {"memory", "memorySwap", "cpuShares", "cpus", "restart", "maxRetryCount", "healthcheck"}
    ),
    # Our Vault providers: their own rules (components/vault/diff_rules.py).
    "pulumi-python:dynamic/vault:KvSecret": KV_SECRET.in_place,
    "pulumi-python:dynamic/vault:Policy": POLICY.in_place,
    "pulumi-python:dynamic/vault:AppRole": APPROLE.in_place,
}


def replaces(
    type_: str, old: Mapping[str, Any], new: Mapping[str, Any], trigger_changed: bool
) -> bool:
    if trigger_changed:
        return True
    in_place = _IN_PLACE.get(type_, frozenset())
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {"__provider"}
    return bool(changed - in_place)
