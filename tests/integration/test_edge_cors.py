"""CORS at the edge: Debian's nginx run from the rendered configuration (remapped as
tests/integration/edge_server.py says) answers preflights itself and names only the allowed
origins; Debian's headless Chromium shows what that means to a page (a page of an allowed
origin reads the answer, a page of another origin cannot)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.edge.files import EdgeLimits
from stacks.edge_settings import CorsSettings
from tests.integration.browser import Origin, origin, spki_pin, visit
from tests.integration.edge_server import EDGE_NAME, Edge, Pki, request
from tests.integration.https_stub import HttpsStub

ALLOWED = "https://app.vos.test"
PATH = "/api/v1/tasks"


def _preflight(origin_: str) -> dict[str, str]:
    return {
        "Origin": origin_,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type",
    }


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub) -> Iterator[Edge]:
    settings = CorsSettings.model_validate({"allowedOrigins": [ALLOWED], "maxAgeSeconds": 300})
    running = Edge(
        tmp_path_factory.mktemp("edge-cors"),
        gateway.port,
        EdgeLimits(rate_per_second=1, burst=5),
        pki.edge_files,
        cors_settings=settings,
    )
    yield running
    running.stop()


def test_a_preflight_is_answered_at_the_edge_for_an_allowed_origin_only(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    before = len(gateway.seen)
    response, body = request(pki, edge, "OPTIONS", PATH, headers=_preflight(ALLOWED))
    assert response.status == 204 and body == b""
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED
    assert "POST" in response.getheader("Access-Control-Allow-Methods", "")
    allowed_headers = response.getheader("Access-Control-Allow-Headers", "").lower()
    assert {"x-api-key", "content-type"} <= {h.strip() for h in allowed_headers.split(",")}
    assert response.getheader("Access-Control-Max-Age") == "300"
    assert response.getheader("Vary") == "Origin"
    assert response.getheader("Access-Control-Allow-Credentials") is None
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=63072000")
    # Another origin: the same 204, but nothing that lets its page go on.
    response, _ = request(pki, edge, "OPTIONS", PATH, headers=_preflight("https://evil.test"))
    assert response.status == 204
    assert not [h for h, _ in response.getheaders() if h.lower().startswith("access-control-")]
    assert len(gateway.seen) == before  # preflights never reach the gateway


def test_answers_name_the_allowed_origin_and_nothing_else(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    """The gateway sends `Access-Control-Allow-Origin: *` of its own: hidden. Near misses of
    the allowed origin get no CORS header."""
    response, _ = request(pki, edge, "GET", PATH, headers={"Origin": ALLOWED})
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED
    assert response.getheader("Access-Control-Expose-Headers") == "X-Request-ID"
    assert response.getheader("Vary") == "Origin"
    assert response.getheader("Access-Control-Allow-Methods") is None  # preflight only
    assert gateway.seen[-1]["headers"]["Origin"] == ALLOWED  # the gateway still sees it
    near_misses = (
        "null",
        "https://app.vos.test.evil.test",
        "https://evil-app.vos.test",
        "http://app.vos.test",
        "HTTPS://APP.VOS.TEST",  # nginx's map ignores case; the edge answers the literal
        "https://app.vos.test:8443",
        f"{ALLOWED}/",
        "",
    )
    for other in near_misses:
        response, _ = request(pki, edge, "GET", PATH, headers={"Origin": other})
        allowed = response.getheader("Access-Control-Allow-Origin")
        assert allowed is None or (allowed == ALLOWED != other), other
    response, _ = request(pki, edge, "GET", PATH)
    assert response.getheader("Access-Control-Allow-Origin") is None
    assert response.getheader("Vary") == "Origin"


def test_a_rate_limited_answer_is_readable_by_the_allowed_page(pki: Pki, edge: Edge) -> None:
    for _ in range(20):
        response, _ = request(pki, edge, "GET", PATH, headers={"Origin": ALLOWED})
        if response.status == 429:
            break
    assert response.status == 429
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED


@dataclass
class Browsing:
    edge: Edge
    allowed: Origin
    other: Origin
    pin: str


@pytest.fixture(scope="module")
def browsing(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub
) -> Iterator[Browsing]:
    """Two pages on two origins (the edge's list names one), then the edge."""
    started: list[Edge] = []

    def target() -> str:
        return f"https://{EDGE_NAME}:{started[0].port}{PATH}"

    headers = {"X-API-Key": "k"}  # a header outside the safelist: the browser preflights
    with origin(target, "GET", headers) as allowed, origin(target, "GET", headers) as other:
        started.append(
            Edge(
                tmp_path_factory.mktemp("edge-browser"),
                gateway.port,
                EdgeLimits(),
                pki.edge_files,
                cors_settings=CorsSettings.model_validate({"allowedOrigins": [allowed.url]}),
            )
        )
        try:
            yield Browsing(started[0], allowed, other, spki_pin(pki.edge_files["server.crt"]))
        finally:
            started[0].stop()


def _header(seen: dict[str, Any], name: str) -> str | None:
    """Case-insensitive: Chromium speaks HTTP/2 to the edge, whose names are lower case."""
    found = {k.lower(): v for k, v in seen["headers"].items()}
    return found.get(name.lower())


def _visit(browsing: Browsing, page: Origin, profile: Path) -> dict[str, Any]:
    return visit(page, profile, {EDGE_NAME: "127.0.0.1"}, [browsing.pin])


def test_in_chromium_a_page_of_the_allowed_origin_reads_the_answer_and_another_cannot(
    browsing: Browsing, gateway: HttpsStub, tmp_path: Path
) -> None:
    before = len(gateway.seen)
    report = _visit(browsing, browsing.allowed, tmp_path / "allowed")
    assert report.get("status") == 200, report
    assert json.loads(report["body"]) == {"ok": True}
    assert report["requestId"]  # exposed to the page (Access-Control-Expose-Headers)
    reached = gateway.seen[before:]
    assert [_header(r, "Origin") for r in reached] == [browsing.allowed.url]
    assert _header(reached[0], "X-API-Key") == "k"

    before = len(gateway.seen)
    report = _visit(browsing, browsing.other, tmp_path / "other")
    assert "error" in report and "status" not in report, report
    # Its preflight got no CORS answer, so the browser never sent the request itself.
    assert not [r for r in gateway.seen[before:] if _header(r, "Origin")]
