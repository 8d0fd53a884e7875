"""Benchmark: a request through the egress proxy beside the same request straight to the
server, and beside a minimal TLS-terminating relay.

Starts Debian's Squid from the dev stack's rendered egress proxy (tests/integration/
squid_server.py: paths and ports remapped, the same squid.conf), with the primary agent
allowed to reach a local HTTPS "outside" server (in a process of its own, as an outside API
is), and times N requests (default 200) each way, interleaved with the order rotating per
round, twice: with a new connection per request (direct: TLS to the server and GET /;
through the proxy: TLS to the proxy with the agent's client certificate, CONNECT, the
agent's own TLS to the server inside the tunnel, GET /), and on one kept-alive connection
each (an open tunnel carries the app's requests like a direct connection). Each path's TLS
settings are built once, as an app's HTTP client keeps them. The same client code every way
(tests/integration/proxy_client.py TlsOver).

The relay: socat (Debian's `socat`) terminating TLS with the proxy's own certificate and the
client-certificate check, then relaying bytes to the server: a hop with no proxy logic at
all (no CONNECT, no access rules, no log): what the proxy costs above it is its own logic.
socat forks a process per connection, so its new-connection figure carries a fork.

Prints p50 and p99 of each and the median (and p99) of the per-round ratios to direct.
Asserts nothing. Needs root (Squid runs as `proxy`, in a mount namespace) and socat.
`.venv/bin/python benchmarks/egress_proxy.py [--count N]`
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from pathlib import Path

# The Squid harness and the app's client are the integration tests' own (not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import config_with, output, profile, write_private
from tests.integration.proxy_client import (
    TlsOver,
    ask_with,
    connect_request,
    direct_session,
    outside_server,
    proxy_context,
)
from tests.integration.rendered_server import hosts_file, wait_listening
from tests.integration.sockets import free_port
from tests.integration.squid_server import SquidServer
from tools.offline.rendered import containers
from tools.offline.runner import evaluate

HOST = "outside.test"
Call = Callable[[], str]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _serve_outside(folder: str, ready: Queue[tuple[int, str]]) -> None:
    """The outside server, in a process of its own: its port and certificate, then serve."""
    server, cert = outside_server(HOST, Path(folder))
    ready.put((server.server_port, cert))
    time.sleep(24 * 3600)  # serve_forever runs in the server's thread until killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    socat = shutil.which("socat")
    if socat is None:
        sys.exit("socat is not installed (apt-get install socat): the minimal relay it measures")
    folder = Path(tempfile.mkdtemp(prefix="vos-egress-bench-"))
    spawn = multiprocessing.get_context("spawn")
    ready: Queue[tuple[int, str]] = spawn.Queue()
    outside = spawn.Process(target=_serve_outside, args=(str(folder), ready), daemon=True)
    outside.start()
    port, outside_ca = ready.get(timeout=60)
    agents = [dict(a) for a in profile("dev")["agents"]]
    agents[0]["egress"] = [f"{HOST}:{port}"]
    evaluation = evaluate("dev", config_with("dev", agents=agents))

    def written(name: str, resource: str, key: str) -> str:
        return write_private(folder, name, str(output(evaluation.named(resource), key)))

    identity = (
        written("c.crt", "pki-primary-agent-client-cert", "certPem"),
        written("c.key", "pki-primary-agent-client-key", "privateKeyPem"),
    )
    ca = written("ca.crt", "pki-ca-cert", "certPem")
    hosts = hosts_file([HOST])
    proxy = SquidServer(containers(evaluation)["egress-proxy"], hosts, free_port())
    relay_port = free_port()
    relay = subprocess.Popen(
        [
            socat,
            f"OPENSSL-LISTEN:{relay_port},bind=127.0.0.1,reuseaddr,fork,nodelay,verify=1,"
            f"cert={written('p.crt', 'pki-egress-proxy-cert', 'certPem')},"
            f"key={written('p.key', 'pki-egress-proxy-key', 'privateKeyPem')},cafile={ca}",
            f"TCP:127.0.0.1:{port},nodelay",
        ],
        stderr=subprocess.DEVNULL,
    )
    wait_listening(relay, relay_port, "socat", lambda: "")
    to_proxy = proxy_context(ca, identity)
    to_outside = ssl.create_default_context(cafile=outside_ca)

    def tunnel() -> TlsOver:
        status, opened = ask_with(to_proxy, proxy.port, connect_request(f"{HOST}:{port}"))
        assert " 200 " in f"{status} ", status
        return TlsOver(opened, HOST, to_outside)

    def minimal_relay() -> TlsOver:
        return TlsOver(ask_relay(to_proxy, relay_port), HOST, to_outside)

    paths: dict[str, Callable[[], TlsOver]] = {
        "direct": lambda: direct_session(port, HOST, to_outside),
        "relay": minimal_relay,
        "proxy": tunnel,
    }
    try:
        for _ in range(10):  # warm-up: every path, every answer right
            assert {_once(opened)() for opened in paths.values()} == {f"hello from {HOST}"}
        _report(
            "a new connection per request",
            _rounds(count, {name: _once(opened) for name, opened in paths.items()}),
        )
        kept = {name: opened() for name, opened in paths.items()}
        try:
            _report(
                "one kept-alive connection (the tunnel stays open)",
                _rounds(count, {name: session.get for name, session in kept.items()}),
            )
        finally:
            for session in kept.values():
                session.close()
    finally:
        relay.kill()
        proxy.stop()
        hosts.unlink()
        outside.kill()


def ask_relay(context: ssl.SSLContext, port: int) -> ssl.SSLSocket:
    """TLS to the minimal relay with the app's client certificate: the open stream."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="egress-proxy")


def _once(opened: Callable[[], TlsOver]) -> Call:
    """One request on a connection of its own."""

    def call() -> str:
        session = opened()
        try:
            return session.get(keep_alive=False)
        finally:
            session.close()

    return call


def _rounds(count: int, calls: dict[str, Call]) -> dict[str, list[float]]:
    """Seconds per request each way, interleaved, the order rotating per round; and each
    way's ratio to direct in the same round."""
    names = sorted(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names if name != "direct"}
    for i in range(count):
        this_round = {}
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            assert calls[name]() == f"hello from {HOST}"
            this_round[name] = time.perf_counter() - started
            times[name].append(this_round[name])
        for name in ratios:
            ratios[name].append(this_round[name] / this_round["direct"])
    return times | {f"{name}/direct": values for name, values in ratios.items()}


def _report(title: str, times: dict[str, list[float]]) -> None:
    print(f"{title}, {len(times['direct'])} requests each way:")
    for name, values in times.items():
        if "/" in name:
            print(
                f"  {name:14} per round: median {statistics.median(values):.2f}, "
                f"p99 {_percentile(values, 0.99):.2f}"
            )
        else:
            print(
                f"  {name:14} p50 {1000 * statistics.median(values):6.2f} ms   "
                f"p99 {1000 * _percentile(values, 0.99):6.2f} ms"
            )


if __name__ == "__main__":
    main()
