"""The apps' way out on the real engine: the reference weather agent, asked by a task through
the published edge, reaches an outside stand-in only through the egress proxy, with the
certificate and variables the contract gives it; it has no route and no name for the outside
itself; another agent is refused; the proxy's log (the container's, which Alloy ships to
Loki) names who asked for what."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.models.containers import Container

from tests.docker.probes import api_key, https_call
from tests.docker.stack import OUTSIDE, OUTSIDE_PORT, PREFIX, Stack, put

SERVE = f"""
import http.server, ssl
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "7"); self.end_headers()
        self.wfile.write(b"outside")
server = http.server.HTTPServer(("0.0.0.0", {OUTSIDE_PORT}), Hello)
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain("/tmp/outside.crt", "/tmp/outside.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""
CONNECT = (
    "import socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)\n"
)


@pytest.fixture(scope="module")
def outside(stack: Stack) -> Iterator[Container]:
    """An HTTPS server named outside.test on the stack's egress network: what only the proxy
    can reach (a self-signed certificate, the one the weather agent was given as EXTRA_CA)."""
    client = stack.engine.client()
    server = client.containers.create(
        stack.client.image.id, ["python3", "-c", SERVE],
        name="vos-test-outside", network=f"{PREFIX}-egress",
    )  # fmt: skip
    files = zip(("/tmp/outside.crt", "/tmp/outside.key"), stack.outside_tls, strict=True)
    for path, source in files:
        put(server, path, Path(source).read_text())
    client.networks.get(f"{PREFIX}-egress").disconnect(server)
    client.networks.get(f"{PREFIX}-egress").connect(server, aliases=[OUTSIDE])
    server.start()
    try:
        yield server
    finally:
        server.remove(force=True)


def _as_app(stack: Stack, app: str, script: str, *args: str) -> tuple[int, str]:
    done = stack.container(app).exec_run(["python3", "-c", script, *args], user="10001:10001")
    return int(done.exit_code), done.output.decode(errors="replace")


def _fetch(stack: Stack, agent: str) -> dict[str, object]:
    """A task through the published edge asking `agent` to fetch the outside host."""
    task = {"input": f"fetch https://{OUTSIDE}:{OUTSIDE_PORT}/"}
    status, answer, _ = https_call(
        stack, "POST", f"/api/v1/agents/{agent}/tasks", task, {"X-API-Key": api_key(stack)}
    )
    assert status == 200, answer
    return answer


def test_an_agent_reaches_its_outside_host_only_through_the_proxy(
    stack: Stack, outside: Container
) -> None:
    """The reference agent's own fetch tool, asked by a task through the edge: TLS to the
    proxy with its certificate, CONNECT, its own TLS verified with the CA it was given."""
    deadline = time.monotonic() + 30  # the stand-in starts listening
    answer = _fetch(stack, "weather")
    while "error" in answer and time.monotonic() < deadline:
        time.sleep(1)
        answer = _fetch(stack, "weather")
    assert answer == {"output": "outside", "status": 200, "agent": "weather"}, answer
    # no name and no route for the outside from the app itself
    assert stack.container("weather-agent").exec_run(["getent", "hosts", OUTSIDE]).exit_code != 0
    outside.reload()
    address = outside.attrs["NetworkSettings"]["Networks"][f"{PREFIX}-egress"]["IPAddress"]
    assert address and _as_app(stack, "weather-agent", CONNECT, address, str(OUTSIDE_PORT))[0] == 1


def test_another_agent_is_refused_and_the_proxy_logs_both_with_their_identity(
    stack: Stack, outside: Container
) -> None:
    answer = _fetch(stack, "primary")
    assert str(answer.get("error", "")).startswith("fetch failed"), answer
    log = stack.container("egress-proxy").logs().decode(errors="replace")
    assert 'identity="/CN=weather-agent' in log and "result=TCP_TUNNEL" in log, log[-2000:]
    refused = [line for line in log.splitlines() if 'identity="/CN=primary-agent' in line]
    assert refused and "result=TCP_DENIED" in refused[-1], log[-2000:]
