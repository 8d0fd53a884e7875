"""Benchmark: the fault drills' figures (issue 30) on the Docker tier's dev stack.

Starts the tier's dockerd, images and applied dev stack as `pytest tests/docker` does
(tests/docker/engine_share.py, images.py, stack.py: root, Debian's docker.io, images built
locally and kept), then drills, each under a bounded load through the published edge (one
authenticated `GET /api/v1/whoami` every `--interval` seconds, loopback only, each
waiting up to 30 s; a request sent while a container is away may wait for it rather than
fail, so the slowest request is printed beside the failed ones):
- every long-running service's main process killed with SIGKILL from the host, one after
  the other (as a crash or the OOM killer; tests/docker/test_fault_drills.py says why not
  `docker kill`): seconds until it runs again and is healthy, requests failed meanwhile;
- PostgreSQL killed after `--rows` rows were committed, RabbitMQ after `--messages`
  persistent messages were confirmed into the durable dead-letter queue: how many are lost;
- Vault stopped for `--outage` seconds: requests failed;
- the engine restarted (dockerd stopped with SIGTERM and started again): seconds until
  every service is back and healthy, requests failed until the edge answers again.
Prints one line per drill. Asserts nothing (the drills' bounds are the tests'); figures
vary with the machine: benchmarks/README.md records a run.
`PYTHONPATH=. .venv/bin/python benchmarks/fault_drills.py [--interval S] [--rows N]
[--messages N] [--outage S] [--services a,b]`
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from pathlib import Path

from tests.docker import engine as docker_engine
from tests.docker import engine_share
from tests.docker.conftest import stand_in_references
from tests.docker.images import build_all
from tests.docker.load import BoundedLoad
from tests.docker.probes import amqp, api_key, gateway_url, https_call, psql, running
from tests.docker.recovery import ENGINE_BACK_WITHIN_S, all_back, back, edge_answers
from tests.docker.stack import PREFIX, Stack, applied_stack
from tests.integration.vault_server import free_port_pair
from tools.dev_vault import DOCKER_BRIDGE, DevVault


class Load(BoundedLoad):
    """One authenticated request at a time through the edge (GET /api/v1/whoami)."""

    def __init__(self, stack: Stack, interval: float) -> None:
        self.key = api_key(stack)

        def whoami() -> tuple[bool, str]:
            status, _, _ = https_call(stack, "GET", "/api/v1/whoami",
                                      headers={"X-API-Key": self.key})  # fmt: skip
            return status == 200, "" if status == 200 else str(status)

        super().__init__(whoami, interval)


def _kill(stack: Stack, service: str) -> str:
    state = stack.inspect(f"{PREFIX}-{service}")["State"]
    os.kill(int(state["Pid"]), signal.SIGKILL)
    return str(state["StartedAt"])


def _count(stack: Stack, sql: str) -> int:
    code, out = psql(stack, gateway_url(stack), sql)
    if code != 0:
        raise RuntimeError(out)
    return int(out.strip().splitlines()[-1])  # the last statement's answer


def _dead_letters(stack: Stack) -> int:
    done = stack.container("rabbitmq").exec_run(
        ["rabbitmqctl", "-q", "list_queues", "-p", "vos", "--no-table-headers", "name", "messages"]
    )
    output = done.output
    assert isinstance(output, bytes)  # exec_run without stream
    pairs = [line.split() for line in output.decode().splitlines()]
    return sum(int(p[1]) for p in pairs if len(p) == 2 and p[0] == "vos.dead-letter")


def _settle(load: Load, seconds: float = 3.0) -> float:
    """A quiet moment before a drill (the last failures of the one before do not count)."""
    time.sleep(seconds)
    return time.monotonic()


def drill_kills(stack: Stack, load: Load, services: list[str]) -> list[str]:
    lines = []
    for service in services:
        began = _settle(load)
        took = back(stack, service, _kill(stack, service))
        lines.append(f"kill {service:<28} back in {took:5.1f} s  "
                     f"{load.summary(began, time.monotonic())}")  # fmt: skip
    return lines


def drill_data(stack: Stack, load: Load, rows: int, messages: int) -> list[str]:
    table = "create table if not exists drill_figures (n int)"
    _count(stack, f"{table}; select 0")
    before = _count(stack, "select count(*) from drill_figures")
    _count(stack, f"insert into drill_figures select generate_series(1, {rows}); select 0")
    began = _settle(load)
    took = back(stack, "postgres", _kill(stack, "postgres"))
    kept = _count(stack, "select count(*) from drill_figures") - before
    lines = [f"kill postgres after {rows} rows  back in {took:5.1f} s  rows lost "
             f"{rows - kept}  {load.summary(began, time.monotonic())}"]  # fmt: skip
    queued = _dead_letters(stack)
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    # Published without user_id: the agent rejects each into the durable dead-letter queue.
    code, out = amqp(stack, "api-gateway", password, FLOOD=f"agent.weather.task={messages}")
    if code != 0 or f"taken={messages}" not in out:
        raise RuntimeError(out)
    deadline = time.monotonic() + 60
    while _dead_letters(stack) < queued + messages and time.monotonic() < deadline:
        time.sleep(0.5)
    confirmed = _dead_letters(stack) - queued
    began = _settle(load)
    took = back(stack, "rabbitmq", _kill(stack, "rabbitmq"))
    lost = confirmed - (_dead_letters(stack) - queued)
    lines.append(f"kill rabbitmq after {confirmed} messages  back in {took:5.1f} s  "
                 f"messages lost {lost}  {load.summary(began, time.monotonic())}")  # fmt: skip
    admin = stack.secret("credentials-rabbitmq-admin-password")
    amqp(stack, "vos_admin", admin, PURGE="vos.dead-letter")
    return lines


def drill_vault(stack: Stack, load: Load, outage: float) -> str:
    began = _settle(load)
    stack.vault.stop()
    try:
        time.sleep(outage)
    finally:
        stack.vault.start()
    return f"vault stopped {outage:.0f} s  {load.summary(began, time.monotonic())}"


def drill_engine(stack: Stack, load: Load, shared: engine_share.Shared) -> str:
    began = _settle(load)
    services = running(stack)
    started = {s: str(stack.inspect(f"{PREFIX}-{s}")["State"]["StartedAt"]) for s in services}
    with shared.alone() as engine:
        docker_engine.restart(engine)
        seconds = all_back(stack, started, ENGINE_BACK_WITHIN_S)
    deadline = time.monotonic() + 90
    while not edge_answers(stack, load.key) and time.monotonic() < deadline:
        time.sleep(0.5)
    answering, requests = time.monotonic() - began, load.summary(began, time.monotonic())
    return (f"engine restart  every service back in {max(seconds.values()):5.1f} s  edge "
            f"answering after {answering:5.1f} s  {requests}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--outage", type=float, default=45)
    parser.add_argument("--services", help="comma-separated; default every long-running one")
    args = parser.parse_args()
    if not 0.05 <= args.interval <= 5 or args.messages > 1000 or args.outage > 300:
        parser.error("bounded: --interval 0.05..5 s, --messages <= 1000, --outage <= 300 s")
    times: dict[str, float] = {}
    with engine_share.joined() as shared, tempfile.TemporaryDirectory() as folder:
        with engine_share.building():
            built = build_all(shared.engine, stand_in_references())
        vault = DevVault(Path(folder) / "vault", free_port_pair(), DOCKER_BRIDGE)
        vault.start()
        try:
            applied = applied_stack(shared.engine, built, vault, times)
            stack = next(applied)
            try:
                print(f"stack applied in {times['apply']:.0f} s")
                chosen = args.services.split(",") if args.services else [
                    s for s in running(stack) if s not in ("postgres", "rabbitmq")
                ]  # fmt: skip
                with Load(stack, args.interval).running() as load:
                    lines = [*drill_kills(stack, load, chosen),
                             *drill_data(stack, load, args.rows, args.messages),
                             drill_vault(stack, load, args.outage),
                             drill_engine(stack, load, shared)]  # fmt: skip
                print("\n".join(lines))
            finally:
                next(applied, None)  # the stack removed, as the tier's fixture does
        finally:
            vault.stop()


if __name__ == "__main__":
    main()
