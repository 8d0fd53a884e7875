"""The edge's per-route limits and its JSON access log, on Debian's nginx run from the
rendered configuration (tests/integration/edge_server.py says what is remapped), in front
of an HTTPS stand-in for the gateway."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.edge import access_log
from components.edge.access_log import FIELDS
from components.edge.files import EdgeLimits
from components.grafana.datasources import TRACE_ID_MATCHER
from stacks.edge_settings import AUTH_ROUTE, EdgeSettings, RouteLimit
from tests.integration.edge_server import Edge, Pki, request
from tests.integration.https_stub import HttpsStub
from tests.integration.log_counts import tally
from tests.integration.sockets import free_port

LOGIN = f"{AUTH_ROUTE}login"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, pki: Pki, gateway: HttpsStub) -> Iterator[Edge]:
    # The default route limit (the contract's login routes), with a small burst to probe.
    (default,) = EdgeSettings().rate_limits
    assert default.path == AUTH_ROUTE
    tight = RouteLimit(path=default.path, rate=default.rate, burst=2)
    running = Edge(
        tmp_path_factory.mktemp("edge-routes"),
        gateway.port,
        EdgeLimits(rate_per_second=50, burst=100),
        pki.edge_files,
        route_limits=(tight, RouteLimit(path="/api/v1/reports/", rate="2r/s", burst=0)),
    )
    yield running
    running.stop()


def _until(edge: Edge, count: int) -> list[dict[str, object]]:
    for _ in range(50):
        lines = edge.access_log()
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    return edge.access_log()


def test_the_login_route_has_its_own_tighter_limit_and_the_rest_is_untouched(
    pki: Pki, edge: Edge, gateway: HttpsStub
) -> None:
    statuses = [request(pki, edge, "POST", LOGIN, body=b"{}")[0].status for _ in range(3)]
    assert statuses == [200, 200, 200]  # the first request and a burst of 2
    response, body = request(pki, edge, "POST", LOGIN, body=b"{}")
    assert response.status == 429 and json.loads(body) == {"error": "too many requests"}
    assert response.getheader("Retry-After") == "6"  # 10 a minute: one every 6 seconds
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=63072000")
    # The same route however it is spelled: nginx decodes and normalizes before matching.
    for spelling in ("/api/v1/%61uth/login", "/api/v1/x/../auth/login", "/api//v1/auth/login"):
        assert request(pki, edge, "POST", spelling, body=b"{}")[0].status == 429, spelling
    # Other routes keep the overall limit only.
    before = len(gateway.seen)
    assert [request(pki, edge, "GET", "/api/v1/tasks")[0].status for _ in range(10)] == [200] * 10
    assert len(gateway.seen) == before + 10


def test_each_route_has_its_own_bucket_and_retry_after(pki: Pki, edge: Edge) -> None:
    statuses = [request(pki, edge, "GET", "/api/v1/reports/daily")[0].status for _ in range(4)]
    assert statuses[0] == 200 and 429 in statuses, statuses
    response, _ = request(pki, edge, "GET", "/api/v1/reports/daily")
    assert response.status == 429 and response.getheader("Retry-After") == "1"


def test_every_request_is_one_json_line_with_its_request_and_trace_ids(
    pki: Pki, edge: Edge
) -> None:
    start = len(edge.access_log())
    parent = f"00-{TRACE}-00f067aa0ba902b7-01"
    headers = {"traceparent": parent, "X-Request-ID": "req-42"}
    response, _ = request(pki, edge, "GET", "/api/v1/tasks?token=s3cret", headers=headers)
    assert response.getheader("X-Request-ID") == "req-42"
    invalid = {
        "all-zero trace id": f"00-{'0' * 32}-00f067aa0ba902b7-01",
        "version ff": f"ff-{TRACE}-00f067aa0ba902b7-01",
        "upper case": f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        "too short": f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",
    }
    for value in invalid.values():
        request(pki, edge, "GET", "/api/v1/tasks", headers={"traceparent": value})
    # A hostile path and header: still one valid JSON line each.
    request(pki, edge, "GET", '/api/v1/"quoted"%0A{"status":1}', headers={"X-Request-ID": '"}'})

    lines = _until(edge, start + 2 + len(invalid))[start:]
    # Grafana's link from a line to its trace finds the id in the line as nginx wrote it.
    raw = edge.log.read_text().splitlines()[start]
    linked = re.search(TRACE_ID_MATCHER, raw)
    assert linked and linked[1] == TRACE
    assert len(lines) == 2 + len(invalid), lines
    first = lines[0]
    assert set(first) == {key for key, _ in FIELDS}
    assert first["request_id"] == "req-42" and first["trace_id"] == TRACE
    assert first["status"] == 200 and first["method"] == "GET"
    assert first["path"] == "/api/v1/tasks" and first["client"] == "127.0.0.1"
    assert "s3cret" not in json.dumps(lines)  # the query string is never logged
    assert float(str(first["upstream_s"])) >= 0 and float(str(first["duration_s"])) >= 0
    assert [line["trace_id"] for line in lines[1 : 1 + len(invalid)]] == [""] * len(invalid)
    hostile = lines[-1]
    assert hostile["path"] == '/api/v1/"quoted"\n{"status":1}'
    # An unusable caller id is replaced by one the edge made.
    assert hostile["request_id"] != '"}' and len(str(hostile["request_id"])) == 32


def test_alloys_counts_of_answers_429s_and_5xx_match_the_edges_own_lines(
    pki: Pki, edge: Edge, tmp_path: Path
) -> None:
    """The lines are the real nginx's; the count is access_log.COUNT as Alloy applies it."""
    start = len(edge.log.read_text().splitlines())
    errors_start = len(edge.errors.read_text().splitlines())
    statuses = [request(pki, edge, "GET", "/api/v1/reports/weekly")[0].status for _ in range(4)]
    # nginx writes the line after the answer: wait for all four.
    _until(edge, start + len(statuses))
    lines = edge.log.read_text().splitlines()[start:]
    # nginx also writes an error-log line per refusal and per failed upstream, on stderr:
    # Alloy's selector takes stdout only, or each would count twice.
    error_lines = edge.errors.read_text().splitlines()[errors_start:]
    # A gateway that is not there: the edge answers 502 itself.
    dead = Edge(tmp_path, free_port(), EdgeLimits(), pki.edge_files)
    try:
        assert request(pki, dead, "GET", "/api/v1/tasks")[0].status == 502
        for _ in range(50):
            if dead.log.read_text():
                break
            time.sleep(0.1)
        lines += dead.log.read_text().splitlines()
        error_lines += dead.errors.read_text().splitlines()
    finally:
        dead.stop()
    assert any("limiting requests" in x for x in error_lines), error_lines
    assert any("upstream" in x for x in error_lines), error_lines
    counted = {metric: n for (metric, _), n in tally(access_log.COUNT, lines).items()}
    assert not tally(access_log.COUNT, error_lines, "stderr")
    requests_, limited, errors = (c.metric for c in access_log.COUNT.counters)
    assert counted.get(requests_) == len(statuses) + 1
    assert counted.get(limited) == statuses.count(429) > 0
    assert counted.get(errors) == 1
