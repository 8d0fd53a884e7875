"""Benchmark: a task's round trip through the edge (edge -> gateway -> RabbitMQ -> agent ->
RabbitMQ -> gateway -> edge) beside the same task sent to the gateway directly.

Runs the reference apps as processes from the dev stack's rendered containers beside
Debian's RabbitMQ and PostgreSQL (tests/integration/reference_apps.py), and Debian's nginx
from the program's own rendered nginx.conf in front of the gateway (tests/integration/
edge_server.py: only its listen port and the gateway's address remapped). A bounded load,
loopback only: `--rate` rounds a second (default 10: 30 requests a second in all, 10 of them
through the edge, whose own per-client limit is 20 a second) for `--seconds` (default 30, at
most 60). Each round, the order rotating: one task through the edge and one to the gateway,
each on a kept-alive HTTPS connection of its own as a client would hold one, and one to the
gateway on a connection opened for it: what the edge pays towards the gateway, which it
reaches with a new connection per request (HTTP/1.0, to an address resolved per request).
Each path's TLS settings are built once. Prints p50 and p99 of each path and the median (and
p99) of the per-round ratio of the edge to the gateway kept alive. Asserts nothing.
Needs root (the servers run as their own accounts). `.venv/bin/python
benchmarks/round_trip.py [--rate N] [--seconds S]`
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

# The harnesses are the integration tests' own (not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.app.contract import CA_CERT
from components.edge.files import CONF, EdgeLimits
from tests.helpers import config_with
from tests.integration.edge_server import Edge
from tests.integration.reference_apps import (
    App,
    ReferenceStack,
    ready,
    reference_stack,
    wait_until,
)
from tools.contract.subject import secret_value
from tools.offline.rendered import containers
from tools.offline.runner import evaluate

TASK = json.dumps({"input": "round trip"}).encode()
ANSWER = {"output": "pirt dnuor", "agent": "weather"}


def _connection(port: int, name: str, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    """An HTTPS connection to 127.0.0.1:`port`, verified for `name` (TLS settings built once,
    as a client keeps them)."""
    connection = http.client.HTTPSConnection(name, port, context=context, timeout=15)
    connection.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=15), server_hostname=name
    )
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def _task_on_new_connection(port: int, context: ssl.SSLContext, key: str) -> float:
    """A task to the gateway on a connection opened for it (the handshake counted)."""
    started = time.perf_counter()
    connection = _connection(port, "api-gateway", context)
    try:
        _task(connection, key)
        return time.perf_counter() - started
    finally:
        connection.close()


def _task(connection: http.client.HTTPSConnection, key: str) -> float:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    started = time.perf_counter()
    connection.request("POST", "/api/v1/agents/weather/tasks", TASK, headers)
    answer = connection.getresponse()
    body = answer.read()
    took = time.perf_counter() - started
    assert answer.status == 200 and json.loads(body) == ANSWER, (answer.status, body)
    return took


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _started(stack: ReferenceStack) -> App:
    gateway = stack.prepare("api-gateway", "gateway")
    stack.start(gateway)
    for name in stack.agent_names():
        stack.start(stack.prepare(name, "agent"))
    for app in stack.apps.values():
        assert wait_until(partial(ready, app), timeout=60), (app.name, app.lines()[-20:])
    return gateway


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    options = parser.parse_args()
    if not 0 < options.rate * 3 <= 50 or not 0 < options.seconds <= 60:
        sys.exit("the load is bounded: at most 50 requests a second (16 rounds of 3), 60 s")
    folder = Path(tempfile.mkdtemp(prefix="vos-round-trip-"))
    evaluation = evaluate("dev", config_with("dev"))
    rendered = containers(evaluation)
    with reference_stack(evaluation, folder) as stack:
        gateway = _started(stack)
        key = secret_value(evaluation, "api-gateway", gateway.secret("VOS_API_KEY_FILE").name)
        edge_container = rendered["edge"]
        tls = {Path(p).name: f.content for p, f in edge_container.files.items() if "/tls/" in p}
        edge = Edge(folder / "edge", gateway.port, EdgeLimits(), tls, edge_container.file(CONF))
        context = ssl.create_default_context(cafile=str(gateway.file(CA_CERT)))
        try:
            kept = {
                "edge": _connection(edge.port, "localhost", context),
                "direct": _connection(gateway.port, "api-gateway", context),
            }
            paths: dict[str, Callable[[], float]] = {
                name: partial(_task, connection, key) for name, connection in kept.items()
            }
            paths["direct, new connection"] = partial(
                _task_on_new_connection, gateway.port, context, key
            )
            for _ in range(10):  # warm-up: every path answers right
                for path in paths.values():
                    path()
            times: dict[str, list[float]] = {name: [] for name in paths}
            ratios: list[float] = []
            count = int(options.rate * options.seconds)
            began = time.monotonic()
            names = sorted(paths)
            for i in range(count):
                # Open loop: each round starts on its schedule, whatever the last one took.
                time.sleep(max(0.0, began + i / options.rate - time.monotonic()))
                shift = i % len(names)
                round_ = {name: paths[name]() for name in names[shift:] + names[:shift]}
                for name, took in round_.items():
                    times[name].append(took)
                ratios.append(round_["edge"] / round_["direct"])
            for connection in kept.values():
                connection.close()
        finally:
            edge.stop()
    print(f"{count} tasks each way at {options.rate:g} rounds/s over {options.seconds:g} s:")
    for name, values in times.items():
        print(
            f"  {name:22} p50 {1000 * statistics.median(values):7.2f} ms   "
            f"p99 {1000 * _percentile(values, 0.99):7.2f} ms"
        )
    print(
        f"  edge/direct per round: median {statistics.median(ratios):.2f}, "
        f"p99 {_percentile(ratios, 0.99):.2f}"
    )


if __name__ == "__main__":
    main()
