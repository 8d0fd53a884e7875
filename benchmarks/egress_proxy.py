"""Benchmark: a request through the egress proxy beside the same request straight to the
server.

Starts Debian's Squid from the dev stack's rendered egress proxy (tests/integration/
squid_server.py: paths and ports remapped, the same squid.conf), with the primary agent
allowed to reach a local HTTPS "outside" server, and times N requests (default 200) each
way, interleaved with the order alternating per pair, twice: with a new connection per
request (direct: TLS to the server and GET /; through the proxy: TLS to the proxy with the
agent's client certificate, CONNECT, the agent's own TLS to the server inside the tunnel,
GET /), and on one kept-alive connection each (an open tunnel carries the app's requests
like a direct connection). The same client code both ways (tests/integration/
proxy_client.py TlsOver). Prints p50 and p99 of each and the median (and p99) of the
per-pair ratios. Asserts nothing.
Needs root (Squid runs as `proxy`, in a mount namespace). `.venv/bin/python
benchmarks/egress_proxy.py [--count N]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The Squid harness and the app's client are the integration tests' own (not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import config_with, output, profile, write_private
from tests.integration.proxy_client import (
    TlsOver,
    ask,
    connect_request,
    direct_session,
    outside_server,
)
from tests.integration.rendered_server import hosts_file
from tests.integration.sockets import free_port
from tests.integration.squid_server import SquidServer
from tools.offline.rendered import containers
from tools.offline.runner import evaluate

HOST = "outside.test"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    folder = Path(tempfile.mkdtemp(prefix="vos-egress-bench-"))
    server, outside_ca = outside_server(HOST, folder)
    port = server.server_port
    agents = [dict(a) for a in profile("dev")["agents"]]
    agents[0]["egress"] = [f"{HOST}:{port}"]
    evaluation = evaluate("dev", config_with("dev", agents=agents))
    cert = output(evaluation.named("pki-primary-agent-client-cert"), "certPem")
    key = output(evaluation.named("pki-primary-agent-client-key"), "privateKeyPem")
    identity = (write_private(folder, "c.crt", str(cert)), write_private(folder, "c.key", str(key)))
    ca = write_private(folder, "ca.crt", str(output(evaluation.named("pki-ca-cert"), "certPem")))
    hosts = hosts_file([HOST])
    proxy = SquidServer(containers(evaluation)["egress-proxy"], hosts, free_port())

    def direct() -> str:
        session = direct_session(port, HOST, outside_ca)
        try:
            return session.get(keep_alive=False)
        finally:
            session.close()

    def tunnel() -> TlsOver:
        status, opened = ask(proxy.port, ca, identity, connect_request(f"{HOST}:{port}"))
        assert " 200 " in f"{status} ", status
        return TlsOver(opened, HOST, outside_ca)

    def proxied() -> str:
        session = tunnel()
        try:
            return session.get(keep_alive=False)
        finally:
            session.close()

    try:
        for _ in range(10):  # warm-up: both paths, both answers right
            assert direct() == proxied() == f"hello from {HOST}"
        _report("a new connection per request", _pairs(count, direct, proxied))
        kept_direct, kept_proxy = direct_session(port, HOST, outside_ca), tunnel()
        try:
            _report(
                "one kept-alive connection (the tunnel stays open)",
                _pairs(count, kept_direct.get, kept_proxy.get),
            )
        finally:
            kept_direct.close()
            kept_proxy.close()
    finally:
        proxy.stop()
        hosts.unlink()
        server.shutdown()


def _pairs(
    count: int, direct: Callable[[], str], proxied: Callable[[], str]
) -> dict[str, list[float]]:
    """Seconds per request each way, interleaved, the order alternating per pair."""
    times: dict[str, list[float]] = {"direct": [], "proxy": [], "ratio": []}
    for i in range(count):
        pair = {}
        for name, call in sorted({"direct": direct, "proxy": proxied}.items(),
                                 reverse=bool(i % 2)):  # fmt: skip
            started = time.perf_counter()
            assert call() == f"hello from {HOST}"
            pair[name] = time.perf_counter() - started
            times[name].append(pair[name])
        times["ratio"].append(pair["proxy"] / pair["direct"])
    return times


def _report(title: str, times: dict[str, list[float]]) -> None:
    print(f"{title}, {len(times['direct'])} requests each way (ms):")
    for name in ("direct", "proxy"):
        values = times[name]
        print(
            f"  {name:7} p50 {1000 * statistics.median(values):6.2f}   "
            f"p99 {1000 * _percentile(values, 0.99):6.2f}"
        )
    ratios = times["ratio"]
    print(
        f"  proxy/direct per pair: median {statistics.median(ratios):.2f}, "
        f"p99 {_percentile(ratios, 0.99):.2f}"
    )


if __name__ == "__main__":
    main()
