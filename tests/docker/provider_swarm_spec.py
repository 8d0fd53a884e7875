"""createServiceSpec (terraform-provider-docker v4.5.0, internal/provider/
resource_docker_service_structures.go): the Engine API's ServiceSpec the provider sends for a
docker.Service's inputs, as the Swarm emulation performs it (provider_swarm.py)."""

from __future__ import annotations

from typing import Any

from tests.docker.provider_containers import _duration_ns
from tests.docker.provider_errors import unknown_inputs
from tests.docker.provider_labels import label_map


def _file(reference: dict[str, Any]) -> dict[str, Any]:
    return {"Name": reference["fileName"], "UID": reference.get("fileUid") or "0",
            "GID": reference.get("fileGid") or "0",
            "Mode": int(reference.get("fileMode") or 0o444)}  # fmt: skip


def _mount(mount: dict[str, Any]) -> dict[str, Any]:
    made: dict[str, Any] = {"Type": mount["type"], "Target": mount["target"],
                            "ReadOnly": bool(mount.get("readOnly"))}  # fmt: skip
    if mount.get("source"):
        made["Source"] = mount["source"]
    tmpfs = mount.get("tmpfsOptions")
    if tmpfs:
        made["TmpfsOptions"] = {"SizeBytes": int(tmpfs.get("sizeBytes") or 0),
                                "Mode": int(tmpfs.get("mode") or 0)}  # fmt: skip
    return made


def _rolling(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    return {
        "Parallelism": int(config.get("parallelism", 1)),
        "Delay": _duration_ns(config.get("delay") or "0s"),
        "FailureAction": config.get("failureAction") or "pause",
        "Monitor": _duration_ns(config.get("monitor") or "5s"),
        "MaxFailureRatio": float(config.get("maxFailureRatio") or 0),
        "Order": config.get("order") or "stop-first",
    }


def service_spec(inputs: dict[str, Any]) -> dict[str, Any]:
    """createServiceSpec: the Engine API's ServiceSpec from the resource's inputs."""
    unknown_inputs(inputs, {"name", "labels", "taskSpec", "mode", "endpointSpec", "updateConfig",
                            "rollbackConfig", "convergeConfig"}, "service")  # fmt: skip
    task = inputs["taskSpec"]
    unknown_inputs(task, {"containerSpec", "resources", "restartPolicy", "placement",
                          "networksAdvanceds", "logDriver"}, "task_spec")  # fmt: skip
    container = task["containerSpec"]
    unknown_inputs(container, {"image", "commands", "args", "user", "env", "hostname",
                               "readOnly", "capDrops", "capAdds", "init", "mounts", "configs",
                               "secrets", "healthcheck", "labels", "stopGracePeriod"},
                   "container_spec")  # fmt: skip
    check = container.get("healthcheck") or {}
    spec_container: dict[str, Any] = {
        "Image": container["image"],
        "Labels": label_map(container.get("labels")),
        "Command": container.get("commands") or None,
        "Args": container.get("args") or None,
        "Hostname": container.get("hostname") or "",
        "Env": [f"{k}={v}" for k, v in (container.get("env") or {}).items()],
        "User": container.get("user") or "",
        "ReadOnly": bool(container.get("readOnly")),
        "CapabilityAdd": container.get("capAdds") or None,
        "CapabilityDrop": container.get("capDrops") or None,
        "Init": container.get("init"),
        "Mounts": [_mount(m) for m in container.get("mounts") or []],
        "StopGracePeriod": _duration_ns(container.get("stopGracePeriod") or "0s"),
        "Healthcheck": {
            "Test": check.get("tests"),
            "Interval": _duration_ns(check.get("interval") or "0s"),
            "Timeout": _duration_ns(check.get("timeout") or "0s"),
            "StartPeriod": _duration_ns(check.get("startPeriod") or "0s"),
            "Retries": int(check.get("retries") or 0),
        },
        "Secrets": [{"File": _file(s), "SecretID": s["secretId"],
                     "SecretName": s.get("secretName", "")}
                    for s in container.get("secrets") or []],
        "Configs": [{"File": _file(c), "ConfigID": c["configId"],
                     "ConfigName": c.get("configName", "")}
                    for c in container.get("configs") or []],
    }  # fmt: skip
    limits = ((task.get("resources") or {}).get("limits")) or {}
    restart = task.get("restartPolicy") or {}
    placement = task.get("placement") or {}
    log = task.get("logDriver") or {}
    mode = inputs.get("mode") or {}
    endpoint = inputs.get("endpointSpec") or {}
    return {
        "Name": inputs["name"],
        "Labels": label_map(inputs.get("labels")),
        "TaskTemplate": {
            "ContainerSpec": spec_container,
            "Resources": {"Limits": {"NanoCPUs": int(limits.get("nanoCpus") or 0),
                                     "MemoryBytes": int(limits.get("memoryBytes") or 0)}},
            "RestartPolicy": {"Condition": restart.get("condition") or "any",
                              "Delay": _duration_ns(restart.get("delay") or "0s"),
                              "MaxAttempts": int(restart.get("maxAttempts") or 0),
                              "Window": _duration_ns(restart.get("window") or "0s")},
            "Placement": {"Constraints": placement.get("constraints") or [],
                          "MaxReplicas": int(placement.get("maxReplicas") or 0)},
            # createServiceAdvancedNetworks: `id` first, then the deprecated `name`.
            "Networks": [{"Target": n.get("id") or n.get("name"),
                          "Aliases": n.get("aliases") or []}
                         for n in task.get("networksAdvanceds") or []],
            "LogDriver": {"Name": log.get("name"), "Options": log.get("options") or {}},
        },
        "Mode": {"Global": {}} if mode.get("global") else {"Replicated": {
            "Replicas": int((mode.get("replicated") or {}).get("replicas", 1))}},
        "UpdateConfig": _rolling(inputs.get("updateConfig")),
        "RollbackConfig": _rolling(inputs.get("rollbackConfig")),
        "EndpointSpec": {
            "Mode": endpoint.get("mode") or "vip",
            "Ports": [{"Protocol": p.get("protocol") or "tcp", "TargetPort": int(p["targetPort"]),
                       "PublishedPort": int(p.get("publishedPort") or 0),
                       "PublishMode": p.get("publishMode") or "ingress"}
                      for p in endpoint.get("ports") or []],
        },
    }  # fmt: skip
