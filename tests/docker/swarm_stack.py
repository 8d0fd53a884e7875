"""The dev stack as its operator turns it to a Swarm (`target: swarm`, tests/helpers.py
swarm_overrides), applied to the host layer's three-node Swarm: the program itself, every
service of it the tier has an image for, its images pushed to the tier's registry and run by
digest, its Docker resources performed on the manager as the provider performs them
(provider_swarm.py), its jobs by the program's job provider and its Vault writes into the
tier's dev Vault (apply.py)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.docker import engine_share
from tests.docker.conftest import SERVICES, stand_in_references, without_stand_ins
from tests.docker.engine import Engine
from tests.docker.images import Built
from tests.docker.provider_swarm import SERVICE
from tests.docker.reference_image import build_reference_image, reference_context
from tests.docker.swarm_apply import SwarmMocks, remove_stack
from tests.docker.swarm_hosts import ADDRESSES, API_PORT, MANAGER, SUBNET, Swarm
from tests.helpers import output, swarm_overrides
from tests.integration.vault_server import point_at
from tools.dev_vault import HOST_GATEWAY, DevVault
from tools.offline.mocks import MockState, unwrap
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

STACK = "dev"
PREFIX = f"vos-{STACK}"
EDGE_NODE = "vos-swarm-w1"
"""The one node labelled `edge` (swarm_hosts.LABELS): where the edge publishes."""
APP_REPLICAS = 2


@dataclass
class SwarmStack:
    engine: Engine
    swarm: Swarm
    state: MockState
    config: StackConfig
    evaluation: Evaluation
    edge_port: int
    vault: DevVault

    def update(self, **overrides: Any) -> Evaluation:
        """`pulumi up` with some settings changed (as `pulumi config set` before it)."""
        self.config = with_overrides(self.config, **overrides)
        mocks = SwarmMocks(self.engine, self.swarm, self.state)
        self.evaluation = evaluate(STACK, self.config, mocks=mocks)
        mocks.finish()
        return self.evaluation

    def preview(self) -> dict[str, str]:
        """`pulumi preview`: every step but `same`."""
        mocks = SwarmMocks(self.engine, self.swarm, self.state, preview=True)
        evaluate(STACK, self.config, mocks=mocks, preview=True)
        gone = mocks.finish()
        return {
            **{name: op for (_, name), op in mocks.steps.items() if op != "same"},
            **{name: "delete" for _, name in gone},
        }

    def secret(self, resource: str) -> str:
        return str(output(self.evaluation.named(resource), "result"))

    def ca_cert(self) -> str:
        return str(output(self.evaluation.named("pki-ca-cert"), "certPem"))

    def services(self) -> dict[str, dict[str, Any]]:
        """The stack's services on the Swarm (its jobs aside): name -> the manager's view."""
        found = self.swarm.api().services(filters={"label": f"vos.stack={STACK}"})
        return {s["Spec"]["Name"]: s for s in found if s["Spec"]["Labels"].get("vos.role") != "job"}

    def tasks(self, service: str) -> dict[str, list[dict[str, Any]]]:
        """Node hostname -> the service's running tasks there, as the manager records them."""
        api = self.swarm.api()
        hostnames = {n["ID"]: n["Description"]["Hostname"] for n in api.nodes()}
        found: dict[str, list[dict[str, Any]]] = {}
        listed = api.tasks(filters={"service": f"{PREFIX}-{service}", "desired-state": "running"})
        for task in listed:
            if task["Status"]["State"] == "running":
                found.setdefault(hostnames[task["NodeID"]], []).append(task)
        return found

    def rolled(self, *services: str) -> bool:
        """Swarm's own update status of each service is `completed` (the provider's converge
        may return between two tasks; Swarm goes on rolling)."""
        return all(self.swarm.update_state(f"{PREFIX}-{s}") == "completed" for s in services)

    def containers(self, service: str) -> dict[str, str]:
        """Container id -> the node it runs on, as each node's engine lists them."""
        found = {}
        for name, node in self.swarm.nodes.items():
            label = f"label=com.docker.swarm.service.name={PREFIX}-{service}"
            listed = node.run("docker", "ps", "-q", "--no-trunc", "--filter", label)
            for container in listed.stdout.split() if listed.returncode == 0 else []:
                found[container] = name
        return found

    def inspect(self, node: str, container: str) -> dict[str, Any]:
        seen: dict[str, Any] = json.loads(self.swarm.nodes[node].docker("inspect", container))[0]
        return seen

    def exec(self, node: str, container: str, *command: str) -> tuple[int, str]:
        done = self.swarm.nodes[node].run("docker", "exec", container, *command)
        return done.returncode, done.stdout + done.stderr

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None, timeout: float = 30, name: str = "localhost",
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        """A request through the edge's port on the edge node, verified against the stack's
        CA by the name asked for (`localhost`, the API's in the dev stack; a console's)."""
        context = ssl.create_default_context(cadata=self.ca_cert())
        connection = http.client.HTTPSConnection(name, self.edge_port, timeout=timeout)
        raw = socket.create_connection((ADDRESSES[EDGE_NODE], self.edge_port), timeout=timeout)
        connection.sock = context.wrap_socket(raw, server_hostname=name)
        sent = {"Content-Type": "application/json"} if body is not None else {}
        try:
            connection.request(
                method, path, json.dumps(body) if body is not None else None,
                sent | (headers or {}),
            )  # fmt: skip
            answer = connection.getresponse()
            data = answer.read()
            try:
                decoded = json.loads(data or b"{}")
            except ValueError:
                decoded = {"raw": data.decode(errors="replace")}
            return answer.status, decoded if isinstance(decoded, dict) else {"value": decoded}
        finally:
            connection.close()

    def task_passes(self) -> tuple[bool, str]:
        """One authenticated task to the agent through the edge (10 s at most): it passed,
        and what came back when it did not (a call for tests/docker/load.py)."""
        status, body = self.call(
            "POST", "/api/v1/agents/primary/tasks", {"input": "abc"},
            {"X-API-Key": self.api_key()}, timeout=10,
        )  # fmt: skip
        passed = (status, body) == (200, {"output": "cba", "agent": "primary"})
        return passed, "" if passed else f"{status} {str(body)[:200]}"

    def api_key(self) -> str:
        """The client API key the gateway's tasks read (the engine's secret they mount)."""
        data = unwrap(self.evaluation.named("api-gateway-app-run-vos-secrets-api-key").inputs)
        return base64.b64decode(data["data"]).decode()


def pushed_images(engine: Engine, stand_ins: Built, swarm: Swarm) -> tuple[dict[str, str], str]:
    """Every stand-in the stack runs and the reference apps' image, pushed to the tier's
    registry: (service key -> image by digest, the apps' image by digest)."""
    by_dns = dict(stand_in_references())
    images = {
        d.key: swarm.push(by_dns[d.dns_name], f"vos/{d.dns_name}")
        for d in SERVICES
        if d.dns_name in by_dns
    }
    with engine_share.building():  # the stack's process builds it too
        app = build_reference_image(engine, reference_context(engine))
    return images, swarm.push(app, "vos/reference-app")


PROMETHEUS_NAME = "prometheus.vos.test"


def swarm_stack_config(images: dict[str, str], app_image: str, vault: DevVault) -> StackConfig:
    overrides = without_stand_ins(swarm_overrides(STACK))
    services = dict(overrides["services"])
    for key, image in images.items():
        services[key] = {**services.get(key, {}), "image": image}
    # swarm_overrides' two gateway replicas, prod's minimum: each answer reaches the replica
    # that asked through its own reply queue (components/rabbitmq/users.py).
    services["apiGateway"] = {**services["apiGateway"], "image": app_image}
    agent = {"name": "primary", "image": app_image, "memoryMb": 384, "cpus": 0.5,
             "replicas": APP_REPLICAS}  # fmt: skip
    return with_overrides(
        read_stack_config(STACK),
        **{
            **overrides,
            "services": services,
            "agents": [agent],
            # What this kernel lacks decides two settings (../shared/notes/docker-engine.md):
            # no IPVS for virtual IPs, no IPsec ESP for encrypted overlays (they are made but
            # carry nothing between nodes; prod's rule requires them, checked as configuration).
            "swarm": {**overrides["swarm"], "endpointMode": "dnsrr", "encryptedOverlays": False},
            # Prometheus has no published port on a Swarm: the edge serves it, to the nodes'
            # network (the tests call from its gateway address).
            "edge": {"consoles": {"prometheus": {"host": PROMETHEUS_NAME, "allowFrom": [SUBNET]}}},
            # what the single host's sidecars would dial; nothing dials it on a Swarm, the
            # program's own providers reach it through the environment (point_at)
            "vault": {
                "address": f"https://{HOST_GATEWAY}:{vault.port}",
                "caCertFile": str(vault.ca_file),
            },
        },
    )


@contextlib.contextmanager
def docker_host(swarm: Swarm) -> Iterator[None]:
    """The variables a user's shell holds for the Docker provider (and so the job
    provider): the manager's Engine API over mutual TLS."""
    variables = {"DOCKER_HOST": f"tcp://{ADDRESSES[MANAGER]}:{API_PORT}",
                 "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(swarm.client_dir)}  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for key, value in variables.items():
            patch.setenv(key, value)
        yield


def applied_swarm_stack(
    engine: Engine, stand_ins: Built, swarm: Swarm, vault: DevVault, times: dict[str, float]
) -> Iterator[SwarmStack]:
    started = time.monotonic()
    images, app_image = pushed_images(engine, stand_ins, swarm)
    times["swarm images"] = time.monotonic() - started
    config = swarm_stack_config(images, app_image, vault)
    state = MockState()
    with docker_host(swarm), pytest.MonkeyPatch.context() as patch:
        point_at(vault, patch)
        started = time.monotonic()
        mocks = SwarmMocks(engine, swarm, state)
        try:
            evaluation = evaluate(STACK, config, mocks=mocks)
            mocks.finish()
            times["swarm apply"] = time.monotonic() - started
            yield SwarmStack(
                engine, swarm, state, config, evaluation, _edge_port(evaluation), vault
            )
        finally:
            remove_stack(swarm.api(), STACK, PREFIX)


def _edge_port(evaluation: Evaluation) -> int:
    """The port the edge service publishes (host mode) on its node."""
    [edge] = [
        unwrap(r.inputs) for r in evaluation.of_type(SERVICE)
        if unwrap(r.inputs)["name"] == f"{PREFIX}-edge"
    ]  # fmt: skip
    [port] = edge["endpointSpec"]["ports"]
    return int(port["publishedPort"])
