"""resourceDockerServiceReadRefreshFunc (terraform-provider-docker v4.5.0, internal/provider/
resource_docker_service_funcs.go and _structures.go): what the state holds for a Swarm service
after a create or a refresh, and how the bridge compares the program's inputs with it."""

from __future__ import annotations

from typing import Any

from stacks.docker_values import go_short_duration
from tests.docker.provider_errors import ProviderError
from tests.docker.provider_labels import label_set


def _short(nanos: int) -> str:
    """shortDur of a duration in nanoseconds."""
    return (
        go_short_duration(f"{nanos // 10**6}ms")
        if nanos % 10**9
        else go_short_duration(f"{nanos // 10**9}s")
    )


def _flat_file(reference: dict[str, Any], kind: str) -> dict[str, Any]:
    """A secret's or config's reference: `kind` is Secret or Config."""
    file = reference["File"]
    lower = kind.lower()
    return {f"{lower}Id": reference[f"{kind}ID"], f"{lower}Name": reference.get(f"{kind}Name", ""),
            "fileName": file["Name"], "fileUid": file["UID"], "fileGid": file["GID"],
            "fileMode": int(file["Mode"])}  # fmt: skip


def _flat_rolling(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {"parallelism": config.get("Parallelism", 0), "delay": _short(config.get("Delay", 0)),
            "failureAction": config.get("FailureAction", ""),
            "monitor": _short(config.get("Monitor", 0)),
            "maxFailureRatio": f"{float(config.get('MaxFailureRatio', 0)):.1f}",
            "order": config.get("Order", "")}  # fmt: skip


def flatten_service(found: dict[str, Any]) -> dict[str, Any]:
    """resourceDockerServiceReadRefreshFunc: the state's view of an inspected service, in
    the inputs' shape (camelCase), for what the program sets."""
    spec = found["Spec"]
    task = spec["TaskTemplate"]
    c = task["ContainerSpec"]
    check = c.get("Healthcheck") or {}
    limits = (task.get("Resources") or {}).get("Limits") or {}
    restart = task.get("RestartPolicy") or {}
    mode = spec.get("Mode") or {}
    # The running endpoint's spec when it names a mode, else the service's own spec.
    running = found.get("Endpoint") or {}
    if (running.get("Spec") or {}).get("Mode"):
        endpoint = {"Mode": running["Spec"]["Mode"], "Ports": running.get("Ports")}
    elif (spec.get("EndpointSpec") or {}).get("Mode"):
        endpoint = spec["EndpointSpec"]
    else:
        raise ProviderError(f"Error no endpoint spec for service {found['ID']}")
    mounts = []
    for m in c.get("Mounts") or []:
        mount: dict[str, Any] = {"type": m["Type"], "target": m["Target"],
                                 "readOnly": m.get("ReadOnly", False)}  # fmt: skip
        if m.get("Source"):
            mount["source"] = m["Source"]
        if m.get("TmpfsOptions"):
            mount["tmpfsOptions"] = {"sizeBytes": m["TmpfsOptions"].get("SizeBytes", 0),
                                     "mode": m["TmpfsOptions"].get("Mode", 0) & 0o777}  # fmt: skip
        mounts.append(mount)
    return {
        "name": spec["Name"],
        "labels": label_set(spec.get("Labels")),
        "taskSpec": {
            "containerSpec": {
                "image": c["Image"],
                "labels": label_set(c.get("Labels")),
                "commands": c.get("Command") or [],
                "args": c.get("Args") or [],
                "hostname": c.get("Hostname", ""),
                "env": dict(e.partition("=")[::2] for e in c.get("Env") or []),
                "user": c.get("User", ""),
                "readOnly": c.get("ReadOnly", False),
                "capAdds": c.get("CapabilityAdd") or [],
                "capDrops": c.get("CapabilityDrop") or [],
                "init": c.get("Init"),
                "mounts": mounts,
                "stopGracePeriod": _short(c.get("StopGracePeriod", 0)),
                "healthcheck": {"tests": check.get("Test") or [],
                                "interval": _short(check.get("Interval", 0)),
                                "timeout": _short(check.get("Timeout", 0)),
                                "startPeriod": _short(check.get("StartPeriod", 0)),
                                "retries": check.get("Retries", 0)},
                "secrets": [_flat_file(s, "Secret") for s in c.get("Secrets") or []],
                "configs": [_flat_file(x, "Config") for x in c.get("Configs") or []],
            },
            "resources": {"limits": {"nanoCpus": limits.get("NanoCPUs", 0),
                                     "memoryBytes": limits.get("MemoryBytes", 0)}},
            "restartPolicy": {"condition": restart.get("Condition", ""),
                              "delay": _short(restart.get("Delay", 0)),
                              "maxAttempts": restart.get("MaxAttempts", 0),
                              "window": _short(restart.get("Window", 0))},
            "placement": {"constraints": (task.get("Placement") or {}).get("Constraints") or [],
                          "maxReplicas": (task.get("Placement") or {}).get("MaxReplicas", 0)},
            # Only the id: a name would never match the state (the provider's own warning).
            "networksAdvanceds": [{"id": n["Target"], "aliases": n.get("Aliases") or []}
                                  for n in task.get("Networks") or []],
            "logDriver": {"name": (task.get("LogDriver") or {}).get("Name", ""),
                          "options": (task.get("LogDriver") or {}).get("Options") or {}},
        },
        "mode": {"global": True} if "Global" in mode else
                {"replicated": {"replicas": mode.get("Replicated", {}).get("Replicas", 0)}},
        "endpointSpec": {"mode": endpoint["Mode"],
                         "ports": [{"protocol": p.get("Protocol"),
                                    "targetPort": p.get("TargetPort"),
                                    "publishedPort": p.get("PublishedPort"),
                                    "publishMode": p.get("PublishMode")}
                                   for p in endpoint.get("Ports") or []]},
        "updateConfig": _flat_rolling(spec.get("UpdateConfig")),
        "rollbackConfig": _flat_rolling(spec.get("RollbackConfig")),
    }  # fmt: skip


MAPS = {"options", "env"}
"""Inputs that are maps in the schema (TypeMap), not blocks: compared whole, a key the state
has and the configuration lacks is a change (terraform-plugin-sdk helper/schema/schema.go
diffMap), unless the configuration sets none."""


def unmatched(state: Any, inputs: Any, path: str = "") -> list[str]:
    """Where the program's inputs differ from the state, comparing only what the program
    sets of a block (a field it leaves out is the engine's to fill: Optional+Computed in the
    schema) and maps whole (MAPS); lists of blocks compare element by element, in order for
    the lists the schema keeps in order and as sets otherwise. Whole floats are integers
    (protobuf doubles)."""
    if isinstance(inputs, float) and inputs.is_integer():
        inputs = int(inputs)
    if path.rsplit(".", 1)[-1] in MAPS and isinstance(inputs, dict) and inputs:
        return [] if state == inputs else [f"{path}: {state!r} in the state, {inputs!r} set"]
    if isinstance(inputs, dict):
        if not isinstance(state, dict):
            return [path]
        return [p for k, v in inputs.items() if v not in (None, [], {})
                for p in unmatched(state.get(k), v, f"{path}.{k}")]  # fmt: skip
    if isinstance(inputs, list):
        if not isinstance(state, list) or len(state) != len(inputs):
            return [path]
        if path.rsplit(".", 1)[-1] in ("commands", "args", "tests", "ports"):
            return [p for i, (s, v) in enumerate(zip(state, inputs, strict=True))
                    for p in unmatched(s, v, f"{path}[{i}]")]  # fmt: skip
        left = list(state)
        for value in inputs:
            match = next((s for s in left if not unmatched(s, value)), None)
            if match is None:
                return [path]
            left.remove(match)
        return []
    return [] if state == inputs else [f"{path}: {state!r} in the state, {inputs!r} set"]
