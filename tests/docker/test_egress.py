"""The apps' way out on the real engine: an agent reaches an outside stand-in only through
the egress proxy, with the certificate and variables the contract gives it; it has no route
and no name for the outside itself; another agent is refused; the proxy's log (the
container's, which Alloy ships to Loki) names who asked for what."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from tests.docker.stack import OUTSIDE, OUTSIDE_PORT, PREFIX, Stack

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
# What an app does with the contract's variables: TLS to HTTPS_PROXY verified by the platform
# CA, its client certificate, CONNECT, then its own TLS to the host inside the tunnel.
THROUGH_PROXY = """
import os, socket, ssl, sys
from urllib.parse import urlsplit
proxy = urlsplit(os.environ["HTTPS_PROXY"])
outer = ssl.create_default_context(cafile=os.environ["VOS_TLS_CA_FILE"])
outer.load_cert_chain(os.environ["VOS_TLS_CLIENT_CERT_FILE"], os.environ["VOS_TLS_CLIENT_KEY_FILE"])
tunnel = outer.wrap_socket(socket.create_connection((proxy.hostname, proxy.port), timeout=10),
                           server_hostname=proxy.hostname)
target = sys.argv[1]
tunnel.sendall(f"CONNECT {target} HTTP/1.1\\r\\nHost: {target}\\r\\n\\r\\n".encode())
head = b""
while b"\\r\\n\\r\\n" not in head:
    chunk = tunnel.recv(4096)
    if not chunk:
        sys.exit("the proxy closed the connection")
    head += chunk
status = head.split(b"\\r\\n")[0].decode()
print(status)
if " 200 " not in status + " ":
    sys.exit(3)
inner = ssl.create_default_context()
inner.check_hostname, inner.verify_mode = False, ssl.CERT_NONE  # the stand-in is self-signed
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
session = inner.wrap_bio(incoming, outgoing, server_hostname=target.split(":")[0])
def pump(step):
    while True:
        try:
            result = step()
        except ssl.SSLWantReadError:
            tunnel.sendall(outgoing.read())
            data = tunnel.recv(65536)
            if not data:
                raise EOFError  # the outside host closed the tunnel
            incoming.write(data)
            continue
        tunnel.sendall(outgoing.read()); return result
pump(session.do_handshake)
pump(lambda: session.write(b"GET / HTTP/1.0\\r\\n\\r\\n"))
answer = b""
try:
    while True:
        data = pump(lambda: session.read(65536))
        if not data:
            break
        answer += data
except (ssl.SSLError, OSError, EOFError):
    pass
print(answer.decode().rsplit("\\r\\n\\r\\n", 1)[-1])
"""
CONNECT = (
    "import socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)\n"
)


@pytest.fixture(scope="module")
def outside(stack: Stack) -> Iterator[Container]:
    """An HTTPS server named outside.test on the stack's egress network: what only the proxy
    can reach (a self-signed certificate, made inside it)."""
    make_cert = (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        f"-keyout /tmp/outside.key -out /tmp/outside.crt -subj /CN={OUTSIDE} "
        f"-addext subjectAltName=DNS:{OUTSIDE} 2>/dev/null"
    )
    client = stack.engine.client()
    server = client.containers.create(
        stack.client.image.id, ["sh", "-c", f"{make_cert} && exec python3 -c '{SERVE}'"],
        name="vos-test-outside", network=f"{PREFIX}-egress",
    )  # fmt: skip
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


def test_an_agent_reaches_its_outside_host_only_through_the_proxy(
    stack: Stack, outside: Container
) -> None:
    target = f"{OUTSIDE}:{OUTSIDE_PORT}"
    deadline = time.monotonic() + 30  # the stand-in makes its certificate first
    code, out = _as_app(stack, "weather-agent", THROUGH_PROXY, target)
    while code != 0 and time.monotonic() < deadline:
        time.sleep(1)
        code, out = _as_app(stack, "weather-agent", THROUGH_PROXY, target)
    assert code == 0 and out.splitlines()[-1] == "outside", out
    # no name and no route for the outside from the app itself
    assert stack.container("weather-agent").exec_run(["getent", "hosts", OUTSIDE]).exit_code != 0
    outside.reload()
    address = outside.attrs["NetworkSettings"]["Networks"][f"{PREFIX}-egress"]["IPAddress"]
    assert address and _as_app(stack, "weather-agent", CONNECT, address, str(OUTSIDE_PORT))[0] == 1


def test_another_agent_is_refused_and_the_proxy_logs_both_with_their_identity(
    stack: Stack, outside: Container
) -> None:
    code, out = _as_app(stack, "primary-agent", THROUGH_PROXY, f"{OUTSIDE}:{OUTSIDE_PORT}")
    assert code == 3 and " 403 " in out + " ", out
    log = stack.container("egress-proxy").logs().decode(errors="replace")
    assert 'identity="/CN=weather-agent' in log and "result=TCP_TUNNEL" in log, log[-2000:]
    refused = [line for line in log.splitlines() if 'identity="/CN=primary-agent' in line]
    assert refused and "result=TCP_DENIED" in refused[-1], log[-2000:]
