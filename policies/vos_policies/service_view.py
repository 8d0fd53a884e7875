"""A docker.Service's inputs seen as a docker.Container's, so that every container rule holds
for the Swarm target's services unchanged (containers.py): the task's container spec, its
resources, restart policy, log driver and networks under the container's property names.
A Swarm job (components/swarm/job.py: its task template in the Engine API's own names) is
seen the same way, as the one-shot container it amounts to.

What a Swarm service cannot say has no counterpart here and is left out: privileged mode,
host namespaces, devices (a service has none of them), swap (the engine's executor sets
memory only) and security options (no-new-privileges comes from each engine's daemon.json;
the no-new-privileges rule asks the pack's config whether the engines set it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vos_policies.rule import UNKNOWN, elements, get

NANO = 1_000_000_000
RESTART = {"any": "unless-stopped", "on-failure": "on-failure", "none": "no"}
"""A task's restart condition as the container restart policy it amounts to."""


def _cpus(nano: Any) -> Any:
    if nano is UNKNOWN or nano is None:
        return nano
    return str(float(nano) / NANO)


def _restart(policy: Any) -> Any:
    condition = get(policy, "condition", "any")
    return UNKNOWN if condition is UNKNOWN else RESTART.get(str(condition), str(condition))


def _env(env: Any) -> Any:
    if env is UNKNOWN:
        return UNKNOWN
    if not isinstance(env, Mapping):
        return []
    return [f"{key}={get(env, key)}" for key in env.keys()]  # noqa: SIM118 (a proxy)


def container_view(props: Mapping[str, Any]) -> dict[str, Any]:
    task = get(props, "taskSpec", {})
    spec = get(task, "containerSpec", {})
    limits = get(get(task, "resources", {}), "limits", {})
    log = get(task, "logDriver", {})
    memory = get(limits, "memoryBytes")
    return {
        "image": get(spec, "image"),
        "user": get(spec, "user", ""),
        "hostname": get(spec, "hostname"),
        "readOnly": get(spec, "readOnly", False),
        "capabilities": {"drops": get(spec, "capDrops", []), "adds": get(spec, "capAdds", [])},
        "mounts": get(spec, "mounts", []),
        "healthcheck": get(spec, "healthcheck", {}),
        "envs": _env(get(spec, "env", {})),
        "labels": [*elements(get(props, "labels", [])), *elements(get(spec, "labels", []))],
        "memory": memory if memory in (None, UNKNOWN) else float(memory) / (1024 * 1024),
        "cpus": _cpus(get(limits, "nanoCpus")),
        "restart": _restart(get(task, "restartPolicy", {})),
        "mustRun": True,
        "logDriver": get(log, "name", "json-file"),
        "logOpts": get(log, "options", {}),
        "networksAdvanced": get(task, "networksAdvanceds", []),
        "ports": get(get(props, "endpointSpec", {}), "ports", []),
    }


def _mount(mount: Any) -> dict[str, Any]:
    """An Engine API mount under the provider's names (what the container rules read)."""
    return {
        "type": get(mount, "Type"),
        "source": get(mount, "Source"),
        "target": get(mount, "Target"),
        "readOnly": get(mount, "ReadOnly", False),
        "bindOptions": {"propagation": get(get(mount, "BindOptions", {}), "Propagation")},
    }


def _labels(labels: Any) -> Any:
    if labels is UNKNOWN or not isinstance(labels, Mapping):
        return []
    return [{"label": k, "value": get(labels, k)} for k in labels.keys()]  # noqa: SIM118


def job_view(props: Mapping[str, Any]) -> dict[str, Any]:
    """A SwarmJob's task template (the Engine API's TaskTemplate) as a one-shot container."""
    task = get(props, "task_template", {})
    spec = get(task, "ContainerSpec", {})
    limits = get(get(task, "Resources", {}), "Limits", {})
    log = get(task, "LogDriver", {})
    memory = get(limits, "MemoryBytes")
    condition = get(get(task, "RestartPolicy", {}), "Condition", "any")
    return {
        "image": get(spec, "Image"),
        "user": get(spec, "User", ""),
        "hostname": get(spec, "Hostname"),
        "readOnly": get(spec, "ReadOnly", False),
        "capabilities": {
            "drops": get(spec, "CapabilityDrop", []),
            "adds": get(spec, "CapabilityAdd", []),
        },
        "mounts": [_mount(m) for m in elements(get(spec, "Mounts", []))],
        "envs": get(spec, "Env", []),
        "labels": _labels(get(props, "labels", {})),
        "memory": memory if memory in (None, UNKNOWN) else float(memory) / (1024 * 1024),
        "cpus": _cpus(get(limits, "NanoCPUs")),
        "restart": UNKNOWN if condition is UNKNOWN else RESTART.get(str(condition), condition),
        "mustRun": False,
        "logDriver": get(log, "Name", "json-file"),
        "logOpts": get(log, "Options", {}),
        "networksAdvanced": [{"name": get(n, "Target")} for n in elements(get(task, "Networks"))],
        "ports": [],
    }
