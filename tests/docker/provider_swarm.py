"""The pulumi-docker provider's Swarm resources (service, secret, config, overlay network),
performed on a real Swarm manager's Engine API.

Read in terraform-provider-docker v4.5.0 (what pulumi-docker 5.x bridges; unchanged on these
points at its HEAD), internal/provider/:
- resource_docker_service_funcs.go resourceDockerServiceCreate: the spec from
  createServiceSpec (resource_docker_service_structures.go), ServiceCreate, then with
  `converge_config` a wait (StateChangeConf, MinTimeout 5s, the first check after `delay`)
  until the tasks with desired state running that *are* running number the replicas
  (replicatedConsoleLogUpdater); at the timeout the service is deleted and the create fails.
  Global mode refuses converge_config (ConflictsWith). Then the read.
- resourceDockerServiceReadRefreshFunc: what the state holds after create and refresh:
  durations in shortDur form, max_failure_ratio with one decimal, tmpfs mode as
  Mode.Perm() (no sticky bit), networks by id only, file modes as integers and ids as text.
- resource_docker_secret.go: `data` is standard base64; the read sets only the name, so the
  state keeps the data it was created with. resource_docker_config.go: the read stores the
  data base64-encoded again.
- resource_docker_network_funcs.go: NetworkCreate with the driver, options as driver
  options, internal, attachable; the read stores the engine's Options as they are.

What is not emulated: the Go client asks the registry for an image's digest on create
(QueryRegistry) and pins a reference by tag to it; the program gives references by digest
(the tier's registry serves them, tests/docker/swarm_hosts.py), which that leaves as they
are (moby client/service_create.go imageWithDigestString: a canonical reference is kept)."""

from __future__ import annotations

import base64
import contextlib
import time
from typing import Any

import docker
import docker.errors

from stacks.docker_values import go_short_duration
from tests.docker.provider_containers import _duration_ns
from tests.docker.provider_errors import ProviderError, unknown_inputs

NETWORK = "docker:index/network:Network"
SECRET = "docker:index/secret:Secret"
CONFIG = "docker:index/serviceConfig:ServiceConfig"
SERVICE = "docker:index/service:Service"
SWARM_TYPES = (NETWORK, SECRET, CONFIG, SERVICE)
TASK_STATES = [
    "new",
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "ready",
    "starting",
    "running",
    "complete",
    "shutdown",
    "failed",
    "rejected",
    "remove",
    "orphaned",
]
"""Swarm's task states in their order (the provider's numberedStates)."""


def _short(nanos: int) -> str:
    """shortDur of a duration in nanoseconds."""
    return (
        go_short_duration(f"{nanos // 10**6}ms")
        if nanos % 10**9
        else go_short_duration(f"{nanos // 10**9}s")
    )


def _labels(blocks: list[dict[str, str]] | None) -> dict[str, str]:
    return {b["label"]: b["value"] for b in blocks or []}


def _label_blocks(labels: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"label": k, "value": v} for k, v in sorted((labels or {}).items())]


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
        "Labels": _labels(container.get("labels")),
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
        "Labels": _labels(inputs.get("labels")),
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


class SwarmProvider:
    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    # -- resource_docker_network_funcs.go --------------------------------------------
    def create_network(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "driver", "internal", "attachable", "options", "labels"},
                       "network")  # fmt: skip
        made = self.api.create_network(
            inputs["name"], driver=inputs.get("driver"), options=inputs.get("options") or None,
            internal=bool(inputs.get("internal")), attachable=bool(inputs.get("attachable")),
            labels=_labels(inputs.get("labels")),
        )  # fmt: skip
        time.sleep(2)  # resourceDockerNetworkRead: its first look after networkReadRefreshDelay
        return self.read_network(made["Id"], inputs) or {}

    def read_network(self, network_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.api.inspect_network(network_id)
        except docker.errors.NotFound:
            return None
        return {**state, "id": found["Id"], "name": found["Name"], "driver": found["Driver"],
                "internal": found["Internal"], "attachable": found["Attachable"],
                "options": found.get("Options") or {}, "scope": found["Scope"],
                "labels": _label_blocks(found.get("Labels"))}  # fmt: skip

    # -- resource_docker_secret.go, resource_docker_config.go -------------------------
    def create_secret(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "data", "labels"}, "secret")
        data = base64.b64decode(inputs["data"], validate=True)
        made = self.api.create_secret(inputs["name"], data, labels=_labels(inputs.get("labels")))
        return {**inputs, "id": made["ID"]}

    def create_config(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "data", "labels"}, "config")
        data = base64.b64decode(inputs["data"], validate=True)
        made = self.api.create_config(inputs["name"], data, labels=_labels(inputs.get("labels")))
        return self.read_config(made["ID"], inputs) or {}

    def read_config(self, config_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.api.inspect_config(config_id)
        except docker.errors.NotFound:
            return None
        spec = found["Spec"]
        return {**state, "id": found["ID"], "name": spec["Name"], "data": spec["Data"],
                "labels": _label_blocks(spec.get("Labels"))}  # fmt: skip

    # -- resource_docker_service_funcs.go --------------------------------------------
    def create_service(self, inputs: dict[str, Any]) -> dict[str, Any]:
        spec = service_spec(inputs)
        made = self.api._post_json(self.api._url("/services/create"), data=spec)
        service_id = self.api._result(made, json=True)["ID"]
        converge = inputs.get("convergeConfig")
        if converge and not spec["Mode"].get("Global"):
            replicas = spec["Mode"]["Replicated"]["Replicas"]
            try:
                self._converge(service_id, replicas, converge)
            except ProviderError:
                self.api.remove_service(service_id)  # deleteService, then DidNotConvergeError
                raise
        return self.read_service(service_id, inputs) or {}

    def update_service(self, service_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """resourceDockerServiceUpdate: the whole spec again, at the service's version; with
        converge_config a wait (its first check after a fixed 7 s) until the update is
        completed, failing when it paused or rolled back."""
        spec = service_spec(inputs)
        version = self.api.inspect_service(service_id)["Version"]["Index"]
        url = self.api._url("/services/{0}/update", service_id)
        self.api._result(self.api._post_json(url, data=spec, params={"version": version}))
        converge = inputs.get("convergeConfig")
        if converge and not spec["Mode"].get("Global"):
            replicas = spec["Mode"]["Replicated"]["Replicas"]
            self._updated(service_id, replicas, converge.get("timeout") or "3m")
        return self.read_service(service_id, inputs) or {}

    def _updated(self, service_id: str, replicas: int, timeout: str) -> None:
        """resourceDockerServiceUpdateRefreshFunc, every 5 s."""
        time.sleep(7)
        deadline = time.monotonic() + _duration_ns(timeout) / 10**9
        while time.monotonic() < deadline:
            status = self.api.inspect_service(service_id).get("UpdateStatus") or {}
            state, message = status.get("State"), status.get("Message", "")
            if state == "completed":
                return
            if state in ("rollback_completed", "paused", "rollback_paused"):
                raise ProviderError(f"service {state.replace('_', ' ')}: {message}")
            if self._running_by_slot(service_id) == replicas:
                if state == "rollback_started":
                    raise ProviderError(f"service rollback completed: {message}")
                return
            time.sleep(5)
        raise ProviderError(f"service {service_id} did not converge within {timeout}")

    def _running_by_slot(self, service_id: str) -> int:
        """replicatedConsoleLogUpdater: per slot the task of the lowest desired state, then
        of the lowest observed state (a start-first update's new task, until it runs), on
        an active node; those running count."""
        order = TASK_STATES
        active = {n["ID"] for n in self.api.nodes() if n["Status"]["State"] != "down"}
        tasks = self.api.tasks(filters={"service": service_id, "desired-state": "running"})
        chosen: dict[int, dict[str, Any]] = {}
        for task in tasks:
            if task["DesiredState"] not in order or task["Status"]["State"] not in order:
                continue
            if task.get("NodeID") and task["NodeID"] not in active:
                continue
            rank = (order.index(task["DesiredState"]), order.index(task["Status"]["State"]))
            held = chosen.get(task.get("Slot", 0))
            if held is None or rank < (order.index(held["DesiredState"]),
                                       order.index(held["Status"]["State"])):  # fmt: skip
                chosen[task.get("Slot", 0)] = task
        return sum(
            1 for t in chosen.values()
            if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        )  # fmt: skip

    def _converge(self, service_id: str, replicas: int, converge: dict[str, Any]) -> None:
        time.sleep(_duration_ns(converge.get("delay") or "7s") / 10**9)
        deadline = time.monotonic() + _duration_ns(converge.get("timeout") or "3m") / 10**9
        running = 0
        while time.monotonic() < deadline:
            tasks = self.api.tasks(filters={"service": service_id, "desired-state": "running"})
            running = sum(1 for t in tasks if t["Status"]["State"] == "running")
            if running == replicas:
                return
            time.sleep(5)
        raise ProviderError(f"service {service_id}: {running}/{replicas} tasks running at the "
                            "converge timeout")  # fmt: skip

    def read_service(self, service_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.api.inspect_service(service_id)
        except docker.errors.NotFound:
            return None
        return {**state, **flatten_service(found), "id": found["ID"]}

    # -- dispatch ----------------------------------------------------------------------
    def create(self, type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        creators = {NETWORK: self.create_network, SECRET: self.create_secret,
                    CONFIG: self.create_config, SERVICE: self.create_service}  # fmt: skip
        if type_ not in creators:
            raise ProviderError(f"no Swarm emulation of {type_}")
        return creators[type_](inputs)

    def update(
        self, type_: str, resource_id: str, state: dict[str, Any], inputs: dict[str, Any]
    ) -> dict[str, Any]:
        if type_ != SERVICE:  # secrets, configs and networks have no Update (all ForceNew)
            raise ProviderError(f"{type_} {resource_id}: doesn't support update")
        return self.update_service(resource_id, inputs)

    def read(self, type_: str, resource_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        if type_ == NETWORK:
            return self.read_network(resource_id, state)
        if type_ == CONFIG:
            return self.read_config(resource_id, state)
        if type_ == SERVICE:
            return self.read_service(resource_id, state)
        return state  # a secret: the read sets the name it already has

    def delete(self, type_: str, resource_id: str, state: dict[str, Any] | None = None) -> None:
        remove = {NETWORK: self.api.remove_network, SECRET: self.api.remove_secret,
                  CONFIG: self.api.remove_config, SERVICE: self.api.remove_service}  # fmt: skip
        with contextlib.suppress(docker.errors.NotFound):
            remove[type_](resource_id)


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
        "labels": _label_blocks(spec.get("Labels")),
        "taskSpec": {
            "containerSpec": {
                "image": c["Image"],
                "labels": _label_blocks(c.get("Labels")),
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
