"""The consoles the edge serves under names of their own (`edge.consoles`, components/edge/
consoles.py), on Debian's nginx run from the dev stack's own rendered nginx.conf and its own
edge certificate (remapped as tests/integration/edge_server.py says: the console upstreams to
HTTPS stand-ins holding the platform's real grafana and prometheus certificates)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.edge.files import CONF, EdgeLimits
from tests.helpers import output, write_private
from tests.integration.edge_server import Edge
from tests.integration.https_stub import HttpsStub
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

GRAFANA, PROMETHEUS = "grafana.vos.test", "prometheus.vos.test"
CONSOLES = {
    "grafana": {"host": GRAFANA, "allowFrom": ["127.0.0.1/32"]},
    "prometheus": {"host": PROMETHEUS, "allowFrom": ["192.0.2.0/24"]},  # not this machine
}


@pytest.fixture(scope="module")
def stack() -> Evaluation:
    return evaluate("dev", with_overrides(read_stack_config("dev"), edge={"consoles": CONSOLES}))


def _pem(stack: Evaluation, name: str, field: str = "certPem") -> str:
    return str(output(stack.named(name), field))


def _stub(stack: Evaluation, service: str, folder: Path) -> HttpsStub:
    cert = write_private(folder, f"{service}.crt", _pem(stack, f"pki-{service}-cert"))
    key = write_private(
        folder, f"{service}.key", _pem(stack, f"pki-{service}-key", "privateKeyPem")
    )
    return HttpsStub(cert, key, extra_headers={"Strict-Transport-Security": "max-age=1"})


def _edge(stack: Evaluation, folder: Path, upstreams: dict[str, int]) -> Edge:
    """The stack's nginx.conf with each console's upstream (and the gateway's) remapped."""
    rendered = containers(stack)["edge"].file(CONF)
    for upstream, port in upstreams.items():
        line = f'set $vos_console "{upstream}";'
        assert line in rendered, line
        rendered = rendered.replace(line, f'set $vos_console "127.0.0.1:{port}";')
    files = {"server.crt": _pem(stack, "pki-edge-cert"), "ca.crt": _pem(stack, "pki-ca-cert"),
             "server.key": _pem(stack, "pki-edge-key", "privateKeyPem")}  # fmt: skip
    return Edge(folder, 9, EdgeLimits(), files, rendered=rendered)


@pytest.fixture(scope="module")
def stubs(
    stack: Evaluation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, HttpsStub]]:
    folder = tmp_path_factory.mktemp("console-stubs")
    running = {s: _stub(stack, s, folder) for s in ("grafana", "prometheus")}
    yield running
    for stub in running.values():
        stub.stop()


@pytest.fixture(scope="module")
def edge(
    stack: Evaluation, stubs: dict[str, HttpsStub], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    ports = {"grafana:3000": stubs["grafana"].port, "prometheus:9090": stubs["prometheus"].port}
    running = _edge(stack, tmp_path_factory.mktemp("edge-consoles"), ports)
    yield running
    running.stop()


def _get(stack: Evaluation, edge: Edge, name: str, host: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """A GET to the edge as a browser reaching `name` does (SNI and Host), verified against
    the platform CA: the edge's certificate must carry the name."""
    ca = write_private(Path(edge.log.parent), "client-ca.crt", _pem(stack, "pki-ca-cert"))
    context = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection(name, edge.port, context=context, timeout=10)
    connection.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", edge.port), timeout=10), server_hostname=name
    )
    try:
        connection.request("GET", "/api/health", headers={"Host": host or name, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_an_allowed_operator_reaches_grafana_under_its_name_over_verified_tls(
    stack: Evaluation, edge: Edge, stubs: dict[str, HttpsStub]
) -> None:
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "X-Forwarded-For": "203.0.113.9"}
    status, headers, _ = _get(stack, edge, GRAFANA, headers=upgrade)
    assert status == 200
    seen = stubs["grafana"].seen[-1]
    assert seen["path"] == "/api/health"
    assert seen["headers"]["Host"] == GRAFANA
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"  # the edge's, not the client's
    assert (seen["headers"]["Upgrade"], seen["headers"]["Connection"]) == ("websocket", "upgrade")
    # the edge's HSTS, not the console's weaker one; no API page policy on a console
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert "Content-Security-Policy" not in headers and "X-Frame-Options" not in headers
    assert not stubs["prometheus"].seen


def test_an_address_not_allowed_gets_403_and_the_console_never_sees_it(
    stack: Evaluation, edge: Edge, stubs: dict[str, HttpsStub]
) -> None:
    before = len(stubs["prometheus"].seen)
    status, headers, body = _get(stack, edge, PROMETHEUS)
    assert (status, json.loads(body)) == (403, {"error": "forbidden"})
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert len(stubs["prometheus"].seen) == before


def test_the_api_keeps_its_name_and_an_unknown_name_is_misdirected(
    stack: Evaluation, edge: Edge, stubs: dict[str, HttpsStub]
) -> None:
    before = len(stubs["grafana"].seen)
    status, _, body = _get(stack, edge, "localhost", host="console.example.com")
    assert (status, json.loads(body)) == (421, {"error": "unknown host"})
    assert len(stubs["grafana"].seen) == before


def test_an_upstream_without_the_console_s_certificate_is_refused(
    stack: Evaluation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("impostor")
    impostor = _stub(stack, "prometheus", folder)  # a real platform certificate, another name
    edge = _edge(stack, folder / "edge", {"grafana:3000": impostor.port, "prometheus:9090": 9})
    try:
        assert _get(stack, edge, GRAFANA)[0] == 502
        assert not impostor.seen
    finally:
        edge.stop()
        impostor.stop()
