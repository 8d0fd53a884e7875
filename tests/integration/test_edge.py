"""The TLS edge: Debian's nginx run from exactly the rendered nginx.conf, in front of an
HTTPS stand-in for the gateway that holds the platform's real api-gateway certificate.

Remapped for the test: /etc/vos and the tmpfs folder -> temporary folders, the listen port
and the upstream address -> free local ports. Everything else is the rendered text.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.edge.files import CONF, HEALTH_PATH, EdgeLimits
from tests.helpers import output, write_private
from tests.integration.edge_server import EDGE_NAME, Edge, Pki, request
from tests.integration.https_stub import HttpsStub
from tests.integration.tls_probe import handshake
from tools.offline import material
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation


@contextmanager
def _edge(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, upstream: HttpsStub, limits: EdgeLimits
) -> Iterator[Edge]:
    edge = Edge(tmp_path_factory.mktemp("edge"), upstream.port, limits, pki.edge_files)
    try:
        yield edge
    finally:
        edge.stop()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub) -> Iterator[Edge]:
    # A body limit of 1 MB keeps the oversized-body probe small.
    with _edge(tmp_path_factory, pki, gateway, EdgeLimits(body_mb=1)) as running:
        yield running


def _assert_security_headers(response: http.client.HTTPResponse) -> None:
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=63072000")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert "default-src 'none'" in response.getheader("Content-Security-Policy", "")
    assert response.getheader("Server") == "nginx"  # no version disclosed


def test_proxies_to_the_verified_gateway_with_security_headers(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    before = len(gateway.seen)
    response, body = request(pki, edge, path="/v1/health")
    assert response.status == 200, body
    assert json.loads(body) == {"ok": True}
    _assert_security_headers(response)
    assert len(gateway.seen) == before + 1
    forwarded = gateway.seen[-1]["headers"]
    assert forwarded["X-Forwarded-Proto"] == "https"
    assert forwarded["X-Forwarded-For"] == "127.0.0.1"
    # A request id is made when the caller sends none, returned and forwarded alike.
    request_id = response.getheader("X-Request-ID")
    assert request_id and len(request_id) == 32
    assert forwarded["X-Request-ID"] == request_id


FORGED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Real-IP": "6.6.6.6",
    "Forwarded": "for=6.6.6.6;host=evil.example;proto=http",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "80",
    "X-Forwarded-Proto": "http",
    "X-Client-IP": "6.6.6.6",
    "True-Client-IP": "6.6.6.6",
    "Proxy": "http://evil.example:3128",
}


def test_the_edge_is_the_first_proxy_and_no_client_claim_reaches_the_gateway(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    response, _ = request(pki, edge, headers=FORGED)
    assert response.status == 200
    seen = gateway.seen[-1]["headers"]
    assert seen["X-Forwarded-For"] == seen["X-Real-IP"] == "127.0.0.1"  # the peer, alone
    assert seen["X-Forwarded-Proto"] == "https" and seen["X-Forwarded-Host"] == EDGE_NAME
    assert seen["X-Forwarded-Port"] == str(edge.port)
    for name in ("Forwarded", "X-Client-IP", "True-Client-IP", "Proxy"):
        assert name not in seen, name
    assert "6.6.6.6" not in json.dumps(seen) and "evil.example" not in json.dumps(seen)


def test_behind_a_trusted_load_balancer_the_client_is_the_address_it_forwards(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub
) -> None:
    """edge.trustedProxies: the test's loopback plays the load balancer. The address it
    appends is believed, anything a client put before it is not."""
    edge = Edge(
        tmp_path_factory.mktemp("edge-lb"), gateway.port, EdgeLimits(), pki.edge_files,
        trusted_proxies=("127.0.0.0/8",),
    )  # fmt: skip
    try:
        forged_then_real = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
        response, _ = request(pki, edge, headers=forged_then_real)
        assert response.status == 200
        seen = gateway.seen[-1]["headers"]
        # recursive: 203.0.113.9 is not a trusted proxy, so it is the client
        assert seen["X-Forwarded-For"] == seen["X-Real-IP"] == "203.0.113.9"
    finally:
        edge.stop()


def test_a_host_outside_the_allow_list_never_reaches_the_gateway(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    before = len(gateway.seen)
    response, body = request(pki, edge, headers={"Host": "evil.example"})
    assert response.status == 421, body
    _assert_security_headers(response)
    # an absolute request URI names the host too
    response, _ = request(pki, edge, path="https://evil.example/v1/health")
    assert response.status == 421
    assert len(gateway.seen) == before
    response, _ = request(pki, edge, headers={"Host": EDGE_NAME.upper()})  # names are caseless
    assert response.status == 200


def test_a_well_formed_request_id_is_kept_and_a_hostile_one_replaced(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    response, _ = request(pki, edge, headers={"X-Request-ID": "trace-42.a_b"})
    assert response.getheader("X-Request-ID") == "trace-42.a_b"
    assert gateway.seen[-1]["headers"]["X-Request-ID"] == "trace-42.a_b"
    hostile = "x" * 129
    response, _ = request(pki, edge, headers={"X-Request-ID": hostile})
    replaced = response.getheader("X-Request-ID")
    assert replaced and replaced != hostile and len(replaced) == 32
    assert gateway.seen[-1]["headers"]["X-Request-ID"] == replaced
    response, _ = request(pki, edge, headers={"X-Request-ID": "a;b=c"})
    assert response.getheader("X-Request-ID") != "a;b=c"


@pytest.mark.parametrize(
    ("version", "accepted"),
    [
        (ssl.TLSVersion.TLSv1_3, True),
        (ssl.TLSVersion.TLSv1_2, True),
        (ssl.TLSVersion.TLSv1_1, False),
        (ssl.TLSVersion.TLSv1, False),
    ],
)
def test_only_tls_1_2_and_1_3_are_spoken(
    edge: Edge, version: ssl.TLSVersion, accepted: bool
) -> None:
    # Refused by the rendered protocols and by its TLS 1.2-only suites alike (checked: with
    # both widened, this test fails); the client offers anything at SECLEVEL 0.
    if accepted:
        assert handshake(edge.port, version) == version.name.replace("v1_", "v1.")
    else:
        with pytest.raises((ssl.SSLError, OSError)):
            handshake(edge.port, version)


def test_plain_http_never_reaches_the_gateway(edge: Edge, gateway: HttpsStub) -> None:
    before = len(gateway.seen)
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    try:
        connection.request("GET", "/v1/health")
        response = connection.getresponse()
        response.read()
        # nginx's own answer to plaintext on a TLS port; nothing is proxied.
        assert response.status == 400
    finally:
        connection.close()
    assert len(gateway.seen) == before


def test_an_oversized_body_is_refused_before_the_gateway(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    before = len(gateway.seen)
    response, _ = request(pki, edge, "POST", "/v1/chat", body=b"x" * (1024 * 1024 + 1))
    assert response.status == 413
    _assert_security_headers(response)
    assert len(gateway.seen) == before
    # Control: a body at the limit passes.
    response, _ = request(pki, edge, "POST", "/v1/chat", body=b"x" * (512 * 1024))
    assert response.status == 200
    assert len(gateway.seen) == before + 1


def test_a_burst_above_the_rate_gets_429_with_retry_after(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub
) -> None:
    with _edge(tmp_path_factory, pki, gateway, EdgeLimits(rate_per_second=1, burst=2)) as edge:
        statuses = []
        limited = None
        for _ in range(8):
            response, body = request(pki, edge)
            statuses.append(response.status)
            if response.status == 429:
                limited = (response, body)
        # The first request and the burst pass; the rest of a tight loop is refused.
        assert statuses[:3] == [200, 200, 200], statuses
        assert limited is not None, statuses
        response, body = limited
        assert response.getheader("Retry-After") == "1"
        assert json.loads(body) == {"error": "too many requests"}
        _assert_security_headers(response)
        time.sleep(1.5)  # the rate refills: the client is served again
        assert request(pki, edge)[0].status == 200


def test_a_gateway_without_the_platform_ca_or_name_gets_no_traffic(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, dev: Evaluation
) -> None:
    folder = tmp_path_factory.mktemp("impostors")
    # Same name, but self-signed: not issued by the platform CA.
    key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    forged = material.self_signed_cert(
        {
            "privateKeyPem": key["privateKeyPem"],
            "subject": {"commonName": "api-gateway"},
            "dnsNames": ["api-gateway"],
            "validityPeriodHours": 24,
            "allowedUses": ["digital_signature", "server_auth"],
        }
    )
    # Issued by the platform CA, but to another service.
    other = (
        str(output(dev.named("pki-postgres-cert"), "certPem")),
        str(output(dev.named("pki-postgres-key"), "privateKeyPem")),
    )
    for name, (cert, private) in {
        "forged": (str(forged["certPem"]), str(key["privateKeyPem"])),
        "postgres": other,
    }.items():
        impostor = HttpsStub(
            write_private(folder, f"{name}.crt", cert),
            write_private(folder, f"{name}.key", private),
        )
        try:
            with _edge(tmp_path_factory, pki, impostor, EdgeLimits()) as edge:
                response, _ = request(pki, edge)
                assert response.status == 502, name
                _assert_security_headers(response)
                # The impostor saw a TLS handshake at most, never a request.
                assert impostor.seen == [], name
        finally:
            impostor.stop()


def test_the_programs_own_edge_proxies_to_the_gateway_by_name_and_answers_its_health(
    dev: Evaluation, tmp_path: Path, pki: Pki, gateway: HttpsStub
) -> None:
    """The edge container as `pulumi up` would create it: its rendered nginx.conf and its
    own certificate (the edge's, with localhost as published in dev), nothing re-rendered."""
    rendered = containers(dev)["edge"]
    tls = {Path(p).name: f.content for p, f in rendered.files.items() if "/tls/" in p}
    assert set(tls) == {"server.crt", "server.key", "ca.crt"}
    edge = Edge(tmp_path, gateway.port, EdgeLimits(), tls, rendered=rendered.file(CONF))
    try:
        context = ssl.create_default_context(cafile=pki.ca)
        connection = http.client.HTTPSConnection(
            "localhost", edge.port, context=context, timeout=10
        )
        connection.request("GET", HEALTH_PATH)
        health = connection.getresponse()
        assert health.status == 200 and json.loads(health.read()) == {"status": "ok"}
        before = len(gateway.seen)
        connection.request("GET", "/v1/agents", headers={"X-Request-ID": "probe-1"})
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read()) == {"ok": True}
        assert answer.getheader("Strict-Transport-Security")
        assert gateway.seen[before:] and gateway.seen[-1]["path"] == "/v1/agents"
        assert gateway.seen[-1]["headers"]["X-Request-ID"] == "probe-1"
        connection.close()
        # the health path is the edge's own: it never reaches the gateway
        assert all(seen["path"] != HEALTH_PATH for seen in gateway.seen)
        # The settings' default route limit reached the program's edge: login is tighter.
        logins = []
        for _ in range(8):
            connection.request("POST", "/api/v1/auth/login", body=b"{}")
            answer = connection.getresponse()
            answer.read()
            logins.append(answer.status)
        assert logins[:6] == [200] * 6 and logins[6:] == [429, 429], logins
        assert answer.getheader("Retry-After") == "6"
        assert handshake(edge.port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        with pytest.raises((ssl.SSLError, OSError)):
            handshake(edge.port, ssl.TLSVersion.TLSv1_1)
    finally:
        edge.stop()
