"""Benchmark: the Swarm target's figures (issue 25) beside the single host's.

Starts the Docker tier's dockerd and images as `pytest tests/docker` does (root, Debian's
docker.io, images built locally and kept), then, unless `--no-single-host`, applies the dev
stack to that one engine (tests/docker/stack.py) and, after it is removed, the same stack
as a Swarm stack on the host layer's three-node Swarm (tests/docker/swarm_hosts.py: node
containers formed by ansible-playbook; swarm_stack.py: images pushed to the tier's
registry, run by digest). On each, under a bounded load through the edge (one
authenticated task to the agent at a time, every `--interval` seconds, 10 s at most each,
loopback and the hosts' network only):
- seconds to apply the stack (the Swarm's after its images are in the registry, and the
  seconds that push took);
- a rotation of the apps' PostgreSQL passwords (`rotation.postgres`): seconds until the
  `up` returned and, on the Swarm, until every app task rolled; requests failed meanwhile;
- on the Swarm, a worker lost (its engine and socket stopped): seconds until each of its
  tasks but the apps' runs again on the nodes left and the edge answers (an app keeps its
  task on the other app node; the lost one waits for room: components/swarm/placement.py,
  spread); requests failed meanwhile; then, the worker back, seconds until the apps' waiting
  tasks run on it. The single host has no other node (its engine restart: fault_drills.py).
Prints one line per figure. Asserts nothing (the bounds are the tests'); figures vary with
the machine: benchmarks/README.md records a run.
`PYTHONPATH=. .venv/bin/python benchmarks/swarm_target.py [--interval S] [--no-single-host]`
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.docker import engine_share
from tests.docker.conftest import stand_in_references
from tests.docker.engine import Engine
from tests.docker.images import Built, build_all
from tests.docker.load import BoundedLoad
from tests.docker.probes import api_key, https_call
from tests.docker.stack import Stack, applied_stack
from tests.docker.swarm_hosts import Swarm, formed_swarm
from tests.docker.swarm_stack import PREFIX, SwarmStack, applied_swarm_stack, docker_host
from tests.integration.vault_server import free_port_pair, point_at
from tools.dev_vault import DOCKER_BRIDGE, DevVault

TASK = {"input": "abc"}
ANSWER = {"output": "cba", "agent": "primary"}
LOST = "vos-swarm-w2"
APPS = {"api-gateway", "primary-agent"}


def single_host(engine: Engine, built: Built, vault: DevVault, interval: float) -> list[str]:
    times: dict[str, float] = {}
    applied = applied_stack(engine, built, vault, times)
    stack: Stack = next(applied)
    try:
        key = {"X-API-Key": api_key(stack)}

        def task() -> tuple[bool, str]:
            status, body, _ = https_call(stack, "POST", "/api/v1/agents/primary/tasks", TASK, key)
            return (status, body) == (200, ANSWER), str(status)

        with BoundedLoad(task, interval).running() as load, pytest.MonkeyPatch.context() as patch:
            point_at(vault, patch)
            started = time.monotonic()
            stack.update(rotation={"postgres": 1})
            rotated = time.monotonic() - started
            time.sleep(5)
        return [
            f"single host  apply {times['apply']:5.0f} s",
            f"single host  rotation: up {rotated:5.0f} s (files re-read, no restart)  "
            f"{load.summary()}",
        ]
    finally:
        next(applied, None)


def _moved(stack: SwarmStack, services: set[str]) -> bool:
    return all(stack.tasks(s) and LOST not in stack.tasks(s) for s in services)


def _passes(call: Callable[[], tuple[bool, str]]) -> bool:
    try:
        return call()[0]
    except (OSError, http.client.HTTPException, ValueError):
        return False


def _until(done: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("not done within the bound")
        time.sleep(1)


def swarm_target(
    engine: Engine, built: Built, swarm: Swarm, vault: DevVault, interval: float
) -> list[str]:
    times: dict[str, float] = {}
    applied = applied_swarm_stack(engine, built, swarm, vault, times)
    stack = next(applied)
    try:
        task = stack.task_passes

        lines = [f"swarm        apply {times['swarm apply']:5.0f} s "
                 f"(images pushed in {times['swarm images']:.0f} s)"]  # fmt: skip
        with docker_host(swarm), pytest.MonkeyPatch.context() as patch:
            point_at(vault, patch)
            with BoundedLoad(task, interval).running() as load:
                started = time.monotonic()
                stack.update(rotation={"postgres": 1})
                returned = time.monotonic() - started
                _until(lambda: stack.rolled("api-gateway", "primary-agent"))
                rolled = time.monotonic() - started
            lines.append(f"swarm        rotation: up {returned:5.0f} s, every app task rolled "
                         f"in {rolled:.0f} s  {load.summary()}")  # fmt: skip
            lines.append(f"             failures: {load.causes() or '-'}")
        on_lost = {s for s in stack.services() if LOST in stack.tasks(s.removeprefix(f"{PREFIX}-"))}
        names = {s.removeprefix(f"{PREFIX}-") for s in on_lost} - APPS
        started = time.monotonic()
        with swarm.lost(LOST):
            with BoundedLoad(task, interval).running() as load:
                _until(lambda: _moved(stack, names) and _passes(task))
                took = time.monotonic() - started
            apart = {s: sorted(stack.tasks(s)) for s in APPS}
            back = time.monotonic()
        _until(lambda: all(LOST in stack.tasks(s) for s in APPS))
        lines.append(f"swarm        worker lost: {len(names)} services back on the nodes left "
                     f"in {took:.0f} s  {load.summary()}")  # fmt: skip
        lines.append(f"             moved: {sorted(names)}; apps ran on {apart}; "
                     f"failures: {load.causes() or '-'}")  # fmt: skip
        lines.append(f"swarm        worker back: the apps' waiting tasks ran on it in "
                     f"{time.monotonic() - back:.0f} s")  # fmt: skip
        return lines
    finally:
        next(applied, None)


@contextmanager
def _vault(folder: Path) -> Iterator[DevVault]:
    vault = DevVault(folder, free_port_pair(), DOCKER_BRIDGE)
    vault.start()
    try:
        yield vault
    finally:
        vault.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--no-single-host", action="store_true")
    args = parser.parse_args()
    if not 0.05 <= args.interval <= 5:
        parser.error("bounded: --interval 0.05..5 s")
    lines: list[str] = []
    with engine_share.joined() as shared, tempfile.TemporaryDirectory() as folder:
        with engine_share.building():
            built = build_all(shared.engine, stand_in_references())
        if not args.no_single_host:
            with _vault(Path(folder) / "vault") as vault:
                lines += single_host(shared.engine, built, vault, args.interval)
        # A Vault of its own: the single host's stack left its secrets under the same paths.
        with _vault(Path(folder) / "swarm-vault") as vault:
            swarm_folder = Path(folder) / "swarm"
            swarm_folder.mkdir()
            with formed_swarm(shared.engine, built.tags, vault, swarm_folder) as swarm:
                lines += swarm_target(shared.engine, built, swarm, vault, args.interval)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
