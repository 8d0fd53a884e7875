"""Whether a changed resource is updated in place or replaced, per provider, as the real
providers decide it (their ForceNew / replaces rules) and as the engine applies the
resource's `replaceOnChanges`, so an offline evaluation can say what an update would do."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from components.vault.diff_rules import APPROLE, KV_SECRET, POLICY

CONTAINER_IN_PLACE = frozenset(
    {
        # Not ForceNew in the container's schema (terraform-provider-docker v4.5.0,
        # internal/provider/resource_docker_container.go, the pinned pulumi-docker 5.x's
        # upstream), in pulumi-docker's camelCase. Of these, the provider's Update really
        # changes only the restart policy, the memory and CPU-share limits and block-I/O
        # throttles, and starts a stopped container whose mustRun became true
        # (resourceDockerContainerUpdate); the flags that matter only at create or delete
        # (start, wait, attach, logs, destroyGraceSeconds ...) change the state alone.
        # `healthcheck` and `tmpfs` are not ForceNew but never applied: the program
        # replaces on them (components/docker/container.py REPLACE_ON_CHANGES).
        "rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun", "restart",
        "maxRetryCount", "removeVolumes", "tmpfs", "deviceReadBps", "deviceReadIops",
        "deviceWriteBps", "deviceWriteIops", "destroyGraceSeconds", "memory",
        "memoryReservation", "memorySwap", "cpuShares", "cpuSet", "healthcheck",
        "containerReadRefreshTimeoutMilliseconds", "init", "cpuPeriod", "cpuQuota",
    }
)  # fmt: skip

# Inputs the providers can change in place; any other changed input forces replacement.
_IN_PLACE: dict[str, frozenset[str]] = {
    "docker:index/container:Container": CONTAINER_IN_PLACE,
    # resource_docker_network.go: no Update; every argument is ForceNew.
    "docker:index/network:Network": frozenset(),
    # resource_docker_volume.go: only `cluster` (not used here) is not ForceNew.
    "docker:index/volume:Volume": frozenset({"cluster"}),
    # Our Vault providers: their own rules (components/vault/diff_rules.py).
    "pulumi-python:dynamic/vault:KvSecret": KV_SECRET.in_place,
    "pulumi-python:dynamic/vault:Policy": POLICY.in_place,
    "pulumi-python:dynamic/vault:AppRole": APPROLE.in_place,
}


def trigger_replaces(old: Any, new: Any) -> bool:
    """The engine's shouldTriggerReplace (pulumi/pulumi pkg/resource/deploy/
    step_generator.go): a null on either side means "no trigger" (a trigger added to or
    removed from a resource replaces nothing); otherwise a changed value replaces."""
    if old is None or new is None:
        return False
    return bool(old != new)


def changed_inputs(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {"__provider"}


def replaces(
    type_: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    trigger_changed: bool,
    replace_on_changes: Collection[str] = (),
) -> bool:
    """Replace, rather than update in place: the replacement trigger changed, an input the
    provider cannot update changed, or an input named in `replaceOnChanges` changed (the
    engine turns such an update into a replace: pulumi/pulumi
    pkg/resource/deploy/step_generator.go, applyReplaceOnChanges)."""
    if trigger_changed:
        return True
    changed = changed_inputs(old, new)
    in_place = _IN_PLACE.get(type_, frozenset())
    return bool(changed - in_place) or bool(changed & set(replace_on_changes))
