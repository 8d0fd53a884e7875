"""What the fault drills wait for and look at: a service back by its restart policy, the
edge answering, a committed row still there (test_fault_drills.py, test_engine_restart.py)."""

from __future__ import annotations

import http.client
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from tests.docker.probes import gateway_url, https_call, psql
from tests.docker.stack import PREFIX, Stack

BACK_WITHIN_S = 90
"""Docker restarts a crashed container at once (then backs off from 100 ms); the rest is the
service's start and its first passing healthcheck."""


ENGINE_BACK_WITHIN_S = 150
"""After an engine restart every container starts at once on two cores, and the apps wait
for their sidecars to render their secrets again."""


def back(stack: Stack, service: str, started_before: str, within: float = BACK_WITHIN_S) -> float:
    """Seconds until the container runs again, started anew, and (if it has a healthcheck)
    is healthy."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        state = stack.inspect(f"{PREFIX}-{service}")["State"]
        health = (state.get("Health") or {}).get("Status", "healthy")
        if state["Running"] and state["StartedAt"] != started_before and health == "healthy":
            return time.monotonic() - began
        time.sleep(0.5)
    raise AssertionError(f"{service} was not back and healthy {within} s after the fault")


def all_back(stack: Stack, started: dict[str, str], within: float) -> dict[str, float]:
    """Every service back (in parallel): seconds per service; the late ones fail it."""
    with ThreadPoolExecutor(max_workers=len(started)) as pool:
        futures = {s: pool.submit(back, stack, s, before, within) for s, before in started.items()}
    seconds, late = {}, []
    for service, future in futures.items():
        try:
            seconds[service] = future.result()
        except AssertionError as error:
            late.append(str(error))
    assert not late, (late, seconds)
    return seconds


def edge_answers(stack: Stack, key: str) -> bool:
    """An authenticated call through the published edge to the gateway answers 200."""
    try:
        status, _, _ = https_call(stack, "GET", "/api/v1/whoami", headers={"X-API-Key": key})
    except (OSError, http.client.HTTPException):
        return False
    return status == 200


def committed_row(stack: Stack, prefix: str) -> str:
    """A committed row in PostgreSQL, through the gateway's own role: its marker."""
    marker = f"{prefix}-{secrets.token_hex(6)}"
    code, out = psql(
        stack, gateway_url(stack),
        f"create table if not exists drill (v text); insert into drill values ('{marker}')",  # noqa: S608 (a hex marker)
    )  # fmt: skip
    assert code == 0, out
    return marker


def row_kept(stack: Stack, marker: str) -> None:
    counted = f"select count(*) from drill where v = '{marker}'"  # noqa: S608 (a hex marker)
    code, out = psql(stack, gateway_url(stack), counted)
    assert code == 0 and out.strip() == "1", out
