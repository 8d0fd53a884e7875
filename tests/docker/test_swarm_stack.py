"""The whole dev stack as a Swarm stack (tests/docker/swarm_stack.py) on the host layer's
three-node Swarm: the program's own services, configs, secrets, overlays and jobs, every
service the tier has an image for, run by digest from the tier's registry."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.docker.conftest import TIMES
from tests.docker.engine import Engine
from tests.docker.images import Built
from tests.docker.load import BoundedLoad
from tests.docker.provider_swarm import SERVICE
from tests.docker.swarm_hosts import Swarm
from tests.docker.swarm_stack import (
    EDGE_NODE,
    PREFIX,
    PROMETHEUS_NAME,
    SwarmStack,
    applied_swarm_stack,
    docker_host,
)
from tests.integration.vault_server import point_at
from tools.contract.checking import until
from tools.dev_vault import DevVault
from tools.offline.mocks import unwrap

pytestmark = pytest.mark.hosts  # run beside the stack's modules (conftest.py)

DATA_NODE, APP_NODES = "vos-swarm-m1", {"vos-swarm-w1", "vos-swarm-w2"}
STATEFUL = {"postgres", "rabbitmq", "weaviate", "prometheus", "alertmanager"}
"""The services with a data volume: one task, on the data node."""
APPS = {"api-gateway", "primary-agent"}
"""On the app nodes; the other stateless services go wherever Swarm puts them."""


@pytest.fixture(scope="module")
def swarm_stack(
    engine: Engine, stand_ins: Built, swarm: Swarm, vault: DevVault
) -> Iterator[SwarmStack]:
    yield from applied_swarm_stack(engine, stand_ins, swarm, vault, TIMES)


def _replicas(stack: SwarmStack) -> dict[str, int | None]:
    """Service (its DNS name) -> the replicas the program asked for (None: global)."""
    found = {}
    for registration in stack.evaluation.of_type(SERVICE):
        inputs = unwrap(registration.inputs)
        mode = inputs.get("mode") or {}
        replicated = (mode.get("replicated") or {}).get("replicas", 1)
        name = inputs["name"].removeprefix(f"{PREFIX}-")
        found[name] = None if mode.get("global") else replicated
    return found


def test_every_service_of_the_program_runs_its_replicas_where_its_kind_belongs(
    swarm_stack: SwarmStack,
) -> None:
    wanted = _replicas(swarm_stack)
    assert set(wanted) >= {"postgres", "rabbitmq", "weaviate", "api-gateway", "primary-agent",
                           "edge", "egress-proxy", "prometheus", "alertmanager"}  # fmt: skip
    assert {n.removeprefix(f"{PREFIX}-") for n in swarm_stack.services()} == set(wanted)
    for service, replicas in wanted.items():
        tasks = swarm_stack.tasks(service)
        if replicas is None:  # global: one task on each node it is constrained to
            assert all(len(t) == 1 for t in tasks.values()), (service, tasks.keys())
        else:
            assert sum(len(t) for t in tasks.values()) == replicas, (service, tasks.keys())
        if service in STATEFUL:
            assert set(tasks) == {DATA_NODE}, service
        elif service == "edge":
            assert set(tasks) == {EDGE_NODE}
        elif service in APPS:
            assert set(tasks) <= APP_NODES, (service, tasks.keys())


def test_every_task_runs_healthy_read_only_without_capabilities_as_its_user(
    swarm_stack: SwarmStack,
) -> None:
    users = {
        unwrap(r.inputs)["name"].removeprefix(f"{PREFIX}-"): unwrap(r.inputs)["taskSpec"][
            "containerSpec"
        ]["user"]
        for r in swarm_stack.evaluation.of_type(SERVICE)
    }
    for service in _replicas(swarm_stack):
        for container, node in swarm_stack.containers(service).items():
            seen = swarm_stack.inspect(node, container)
            host = seen["HostConfig"]
            assert host["ReadonlyRootfs"] is True, (service, node)
            assert host["CapDrop"] == ["ALL"], (service, node)
            assert host["Memory"] > 0 and host["NanoCpus"] > 0, service
            assert seen["Config"]["User"] == users[service], service  # the spec's, root too
            health = (seen["State"].get("Health") or {}).get("Status")
            assert health == "healthy", (service, node, health)


def test_each_app_replica_knows_its_node_and_task_for_its_metrics(swarm_stack: SwarmStack) -> None:
    """The engine expands the service's templates per task (`vos_app_info`'s labels), and
    the scheduler spreads an app's replicas over the app nodes."""
    for service in APPS:
        placed = swarm_stack.containers(service)
        assert len(set(placed.values())) == len(placed) == 2, (service, placed)
        for container, node in placed.items():
            seen = swarm_stack.inspect(node, container)
            env = dict(line.partition("=")[::2] for line in seen["Config"]["Env"])
            task = seen["Config"]["Labels"]["com.docker.swarm.task.name"]
            assert (env["VOS_NODE_NAME"], env["VOS_TASK_NAME"]) == (node, task), service


def test_a_task_through_the_edge_reaches_an_agent_over_the_overlays_and_back(
    swarm_stack: SwarmStack,
) -> None:
    task = {"input": "abc"}
    for headers in ({}, {"X-API-Key": "not-the-key"}):
        status, _ = swarm_stack.call("POST", "/api/v1/agents/primary/tasks", task, headers)
        assert status == 401
    key = {"X-API-Key": swarm_stack.api_key()}
    for _ in range(10):  # both gateways and both agents, on whichever nodes they run
        answer = swarm_stack.call("POST", "/api/v1/agents/primary/tasks", task, key)
        assert answer == (200, {"output": "cba", "agent": "primary"})


def test_prometheus_is_reached_through_the_edge_under_its_own_name_with_its_login(
    swarm_stack: SwarmStack,
) -> None:
    """Only the edge is published on a Swarm: it serves Prometheus as a console
    (edge.consoles), whose own basic auth stays; Prometheus finds each app's replicas."""
    query = "/api/v1/query?query=count(up%7Bjob%3D%22api-gateway%22%7D%3D%3D1)"
    assert swarm_stack.call("GET", query, name=PROMETHEUS_NAME)[0] == 401
    login = base64.b64encode(
        f"admin:{swarm_stack.secret('credentials-prometheus-admin-password')}".encode()
    ).decode()
    auth = {"Authorization": f"Basic {login}"}
    deadline = time.monotonic() + 60  # the first scrapes of the replicas found by DNS
    while True:
        status, answer = swarm_stack.call("GET", query, headers=auth, name=PROMETHEUS_NAME)
        assert status == 200 and answer["status"] == "success", (status, answer)
        found = [r["value"][1] for r in answer["data"]["result"]]
        if found == ["2"] or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert found == ["2"], answer  # both gateway replicas scraped and up


def test_a_second_up_changes_nothing(swarm_stack: SwarmStack) -> None:
    """What the provider reads back from the Swarm is what the program sets, and the jobs
    and Vault writes are what they were: the preview after the `up` finds every resource
    the same."""
    with docker_host(swarm_stack.swarm), pytest.MonkeyPatch.context() as patch:
        point_at(swarm_stack.vault, patch)
        assert swarm_stack.preview() == {}


def test_a_rotation_of_the_apps_database_passwords_rolls_their_tasks_under_load(
    swarm_stack: SwarmStack,
) -> None:
    old = swarm_stack.secret("credentials-api-gateway-postgres-password")
    before = {s: set(swarm_stack.containers(s)) for s in ("api-gateway", "primary-agent")}
    started = time.monotonic()
    with docker_host(swarm_stack.swarm), pytest.MonkeyPatch.context() as patch:
        point_at(swarm_stack.vault, patch)
        with BoundedLoad(swarm_stack.task_passes, 0.2).running() as load:
            swarm_stack.update(rotation={"postgres": 1})
            for service in ("api-gateway", "primary-agent"):
                swarm_stack.swarm.wait_update(f"{PREFIX}-{service}", timeout=240)
            time.sleep(5)
    new = swarm_stack.secret("credentials-api-gateway-postgres-password")
    assert new != old
    # Every task of the apps replaced, the new ones healthy: they logged in with the new
    # password (their readiness is a login) and answer through the edge.
    for service, old_tasks in before.items():
        assert not old_tasks & set(swarm_stack.containers(service)), service
    test_every_task_runs_healthy_read_only_without_capabilities_as_its_user(swarm_stack)
    key = {"X-API-Key": swarm_stack.api_key()}
    answer = swarm_stack.call("POST", "/api/v1/agents/primary/tasks", {"input": "abc"}, key)
    assert answer == (200, {"output": "cba", "agent": "primary"})
    # Two tasks of each app kept apart on two app nodes roll stop-first, one at a time
    # (components/swarm/placement.py, spread): the other serves; Swarm takes a stopping
    # task out of its DNS 2 s before it signals it (moby daemon/cluster/executor/container/
    # controller.go, Shutdown: deactivateServiceBinding, defaultGossipConvergeDelay), and a
    # stopping gateway finishes what it holds (its answers come to its own reply queue).
    print(f"rotation rolled in {time.monotonic() - started:.0f} s; {load.summary()}")
    assert load.window() and not load.failed(), load.failed()[:5]


def _waiting(stack: SwarmStack, service: str) -> list[str]:
    """Why each task of the service Swarm wants running is not placed (its status message)."""
    api: Any = stack.swarm.api()
    listed = api.tasks(filters={"service": f"{PREFIX}-{service}", "desired-state": "running"})
    return [t["Status"].get("Err") or t["Status"]["Message"] for t in listed
            if t["Status"]["State"] == "pending"]  # fmt: skip


def test_a_lost_worker_leaves_each_app_serving_on_the_other_and_they_spread_again_on_its_return(
    swarm_stack: SwarmStack,
) -> None:
    """The apps' replicas are apart after the rotation's rolling updates too (at most one
    per app node: components/swarm/placement.py, spread), so losing a worker leaves each app
    a task on the other; the lost task waits for room instead of joining it there, and runs
    on the worker when it is back."""
    for service in APPS:
        assert set(swarm_stack.tasks(service)) == APP_NODES, service
    wanted = _replicas(swarm_stack)
    moved = {s for s in wanted if s not in APPS and "vos-swarm-w2" in swarm_stack.tasks(s)}
    # Back on leaving, ready: the host layer's Swarm module after this one needs it.
    with swarm_stack.swarm.lost("vos-swarm-w2"):
        with BoundedLoad(swarm_stack.task_passes, 0.2).running() as load:

            def settled() -> bool:
                placed = {s: swarm_stack.tasks(s) for s in APPS | moved}
                apps = all(set(placed[s]) == {"vos-swarm-w1"} and len(placed[s]["vos-swarm-w1"])
                           == 1 and _waiting(swarm_stack, s) for s in APPS)  # fmt: skip
                return apps and all(
                    "vos-swarm-w2" not in placed[s]
                    and sum(len(t) for t in placed[s].values()) == (wanted[s] or 1)
                    for s in moved
                )

            assert until(settled, 180), "the apps did not settle on the worker left"
            time.sleep(10)
        for service in APPS:
            assert all("max replicas per node" in why for why in _waiting(swarm_stack, service))
        key = {"X-API-Key": swarm_stack.api_key()}
        answer = swarm_stack.call("POST", "/api/v1/agents/primary/tasks", {"input": "abc"}, key)
        assert answer == (200, {"output": "cba", "agent": "primary"})
        print(f"lost worker: {moved} moved, {APPS} one task each meanwhile; requests "
              f"{load.summary()}; {load.causes() or 'no failure'}")  # fmt: skip
        # What fails is what was in flight on the lost worker, until the edge and the
        # gateways stop reaching its tasks (benchmarks/README.md, Swarm); bounded, not zero.
        assert len(load.failed()) <= max(3, len(load.window()) // 20), load.causes()
    back = until(lambda: all(set(swarm_stack.tasks(s)) == APP_NODES for s in APPS), 180)
    assert back, "the apps' waiting tasks did not run on the worker back"
