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

The spec it sends is provider_swarm_spec.py's, what it reads back provider_swarm_read.py's.

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

from tests.docker.provider_containers import _duration_ns
from tests.docker.provider_errors import ProviderError, unknown_inputs
from tests.docker.provider_labels import label_map, label_set
from tests.docker.provider_swarm_read import flatten_service
from tests.docker.provider_swarm_spec import service_spec

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
            labels=label_map(inputs.get("labels")),
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
                "labels": label_set(found.get("Labels"))}  # fmt: skip

    # -- resource_docker_secret.go, resource_docker_config.go -------------------------
    def create_secret(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "data", "labels"}, "secret")
        data = base64.b64decode(inputs["data"], validate=True)
        made = self.api.create_secret(inputs["name"], data, labels=label_map(inputs.get("labels")))
        return {**inputs, "id": made["ID"]}

    def create_config(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "data", "labels"}, "config")
        data = base64.b64decode(inputs["data"], validate=True)
        made = self.api.create_config(inputs["name"], data, labels=label_map(inputs.get("labels")))
        return self.read_config(made["ID"], inputs) or {}

    def read_config(self, config_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.api.inspect_config(config_id)
        except docker.errors.NotFound:
            return None
        spec = found["Spec"]
        return {**state, "id": found["ID"], "name": spec["Name"], "data": spec["Data"],
                "labels": label_set(spec.get("Labels"))}  # fmt: skip

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
