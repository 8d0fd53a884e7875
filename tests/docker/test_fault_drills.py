"""Faults on one host, drilled on the tier's engine: a service's process killed (issue 30).

Each long-running container of the stack has its main process killed with SIGKILL from the
host, as a crash or the kernel's OOM killer does (not `docker kill`: the engine counts any
kill through its API as a manual stop, moby daemon/kill.go killWithSignal setting
HasBeenManuallyStopped, and so never restarts it under `unless-stopped`). Its restart
policy must bring it back, healthy, without an `up`; the edge must answer again; what
PostgreSQL committed and the persistent messages RabbitMQ confirmed into a durable queue must
still be there."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import time

from tests.docker.probes import (
    amqp,
    api_key,
    dead_lettered,
    eventually,
    gateway_url,
    https_call,
    psql,
    running,
)
from tests.docker.stack import PREFIX, Stack

BACK_WITHIN_S = 90
"""Docker restarts a crashed container at once (then backs off from 100 ms); the rest is the
service's start and its first passing healthcheck."""


def _kill(stack: Stack, service: str) -> str:
    """SIGKILL to the container's main process; its start time before, to tell the restart."""
    state = stack.inspect(f"{PREFIX}-{service}")["State"]
    assert state["Running"] and state["Pid"], state
    os.kill(int(state["Pid"]), signal.SIGKILL)
    return str(state["StartedAt"])


def _back(stack: Stack, service: str, started_before: str) -> float:
    """Seconds until the container runs again, started anew, and (if it has a healthcheck)
    is healthy."""
    began = time.monotonic()
    while time.monotonic() - began < BACK_WITHIN_S:
        state = stack.inspect(f"{PREFIX}-{service}")["State"]
        health = (state.get("Health") or {}).get("Status", "healthy")
        if state["Running"] and state["StartedAt"] != started_before and health == "healthy":
            return time.monotonic() - began
        time.sleep(0.5)
    raise AssertionError(f"{service} was not back and healthy {BACK_WITHIN_S} s after SIGKILL")


def _edge_answers(stack: Stack, key: str) -> bool:
    """An authenticated call through the published edge to the gateway answers 200."""
    try:
        status, _, _ = https_call(stack, "GET", "/api/v1/whoami", headers={"X-API-Key": key})
    except (OSError, http.client.HTTPException):
        return False
    return status == 200


def test_killed_data_services_come_back_with_what_they_committed(stack: Stack) -> None:
    marker = f"drill-{secrets.token_hex(6)}"
    code, out = psql(
        stack, gateway_url(stack),
        f"create table if not exists drill (v text); insert into drill values ('{marker}')",  # noqa: S608 (a hex marker)
    )  # fmt: skip
    assert code == 0, out
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = amqp(stack, "api-gateway", password, PUBLISH=marker)  # confirmed, persistent
    assert code == 0 and "ok" in out, out
    time.sleep(3)  # the agent rejects it into the durable dead-letter queue
    for service in ("postgres", "rabbitmq"):
        _back(stack, service, _kill(stack, service))
    counted = f"select count(*) from drill where v = '{marker}'"  # noqa: S608 (a hex marker)
    code, out = psql(stack, gateway_url(stack), counted)
    assert code == 0 and out.strip() == "1", out
    code, out = dead_lettered(stack, marker)
    assert code == 0 and "found" in out, out
    key = api_key(stack)
    assert eventually(lambda: _edge_answers(stack, key), seconds=60)


def test_every_other_killed_service_comes_back_healthy_and_the_edge_answers(
    stack: Stack,
) -> None:
    """In turn, each long-running container but the data services (drilled above): the
    figures are in the assertion's message when one is not back in time."""
    key = api_key(stack)
    back: dict[str, float] = {}
    late: list[str] = []
    for service in sorted(set(running(stack)) - {"postgres", "rabbitmq"}):
        started = _kill(stack, service)
        try:
            back[service] = _back(stack, service, started)
        except AssertionError as error:
            late.append(str(error))
        if not eventually(lambda: _edge_answers(stack, key), seconds=60):
            late.append(f"the edge did not answer 60 s after {service} was back")
    assert not late, (late, back)
