"""Faults on one host, drilled on the tier's engine (issue 30): a service's process killed, an
agent's queue flooded, Vault unreachable (the engine restarted: test_engine_restart.py).

Each long-running container of the stack has its main process killed with SIGKILL from the
host, as a crash or the kernel's OOM killer does (not `docker kill`: the engine counts any
kill through its API as a manual stop, moby daemon/kill.go killWithSignal setting
HasBeenManuallyStopped, and so never restarts it under `unless-stopped`). Its restart
policy must bring it back, healthy, without an `up`; the edge must answer again; what
PostgreSQL committed and the persistent messages RabbitMQ confirmed into a durable queue must
still be there.

Vault unreachable: the tier's Vault (the dev server `scripts/vault.sh` runs) stopped for a
while. The apps must go on serving on the secrets their sidecars rendered, no container may
restart (a sidecar that gives up exits, and its restart would show), and once Vault is back
a rotation must reach the app through its sidecar. The alert (VaultReadsFailing) is seen
through what it counts: every sidecar's real log lines during the outage hold the failures
Alloy counts for it (components/vault_agent/failures.py), and none after Vault's return; the
rule itself is promtool-tested (monitoring/prometheus/tests/vault.test.yml). No Alloy binary
runs here, so the series is not seen on the live Prometheus."""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from datetime import datetime

from components.rabbitmq.users import APP_QUEUE_LIMIT
from components.vault_agent import failures as sidecar_failures
from components.vault_agent.files import (
    LONGEST_RETRY_WAIT_S,
    RENDER_INTERVAL_S,
    SIDECAR_SUFFIX,
)
from tests.docker.probes import (
    amqp,
    api_key,
    dead_lettered,
    eventually,
    https_call,
    running,
)
from tests.docker.recovery import (
    BACK_WITHIN_S,
    all_back,
    back,
    committed_row,
    edge_answers,
    row_kept,
)
from tests.docker.stack import PREFIX, Stack
from tests.integration.log_counts import tally

VAULT_OUTAGE_S = float(os.environ.get("VOS_DRILL_VAULT_OUTAGE_S", "45"))
"""Vault's outage in the drill: in CI one and a half render intervals (every sidecar fails to
read its secrets at least once and retries); longer by hand, e.g. 280 (the sidecars' retries
last about 5 minutes, components/vault_agent/files.py RETRIES)."""


def _kill(stack: Stack, service: str) -> str:
    """SIGKILL to the container's main process; its start time before, to tell the restart."""
    state = stack.inspect(f"{PREFIX}-{service}")["State"]
    assert state["Running"] and state["Pid"], state
    os.kill(int(state["Pid"]), signal.SIGKILL)
    return str(state["StartedAt"])


def test_killed_data_services_come_back_with_what_they_committed(stack: Stack) -> None:
    marker = committed_row(stack, "drill")
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = amqp(stack, "api-gateway", password, PUBLISH=marker)  # confirmed, persistent
    assert code == 0 and "ok" in out, out
    time.sleep(3)  # the agent rejects it into the durable dead-letter queue
    for service in ("postgres", "rabbitmq"):
        back(stack, service, _kill(stack, service))
    row_kept(stack, marker)
    code, out = dead_lettered(stack, marker)
    assert code == 0 and "found" in out, out
    key = api_key(stack)
    assert eventually(lambda: edge_answers(stack, key), seconds=60)


def test_every_other_service_killed_at_once_comes_back_healthy_and_the_edge_answers(
    stack: Stack,
) -> None:
    """Every long-running container but the data services (drilled above) crashes at once;
    each must be back by its own restart policy, whatever the others do."""
    key = api_key(stack)
    started = {s: _kill(stack, s) for s in sorted(set(running(stack)) - {"postgres", "rabbitmq"})}
    all_back(stack, started, BACK_WITHIN_S)
    assert eventually(lambda: edge_answers(stack, key), seconds=60)


def test_a_flooded_agent_queue_refuses_the_flood_and_the_other_agents_keep_working(
    stack: Stack,
) -> None:
    """An agent stops consuming and its queue is flooded past its bound: every publish beyond
    is refused to its publisher, the gateway tells its caller to come back later (503, at
    once), the other agents keep answering tasks through the edge, and no resource alarm
    blocks the broker's other publishers."""
    key = {"X-API-Key": api_key(stack)}
    primary = stack.container("primary-agent")
    started = str(stack.inspect(primary.name)["State"]["StartedAt"])
    primary.stop(timeout=10)  # a stuck consumer: its queue fills
    try:
        gateway = stack.secret("credentials-api-gateway-rabbitmq-password")
        flood = f"agent.primary.flood={APP_QUEUE_LIMIT + 20}"
        code, out = amqp(stack, "api-gateway", gateway, FLOOD=flood)
        assert code == 0 and f"taken={APP_QUEUE_LIMIT} refused=20" in out, out
        task = {"input": "abc"}
        status, body, headers = https_call(stack, "POST", "/api/v1/agents/primary/tasks", task, key)
        named = {name.lower(): value for name, value in headers.items()}
        assert (status, named.get("retry-after")) == (503, "5"), (status, body, headers)
        status, body, _ = https_call(stack, "POST", "/api/v1/agents/weather/tasks", task, key)
        assert (status, body) == (200, {"output": "cba", "agent": "weather"}), body
        code, alarms = stack.container("rabbitmq").exec_run(
            ["rabbitmqctl", "-q", "eval", "rabbit_alarm:get_alarms()."]
        )
        assert (code, alarms.decode().strip()) == (0, "[]"), alarms
    finally:
        admin = stack.secret("credentials-rabbitmq-admin-password")
        amqp(stack, "vos_admin", admin, PURGE="vos.agent.primary")
        primary.start()
        back(stack, "primary-agent", started)


def _starts(stack: Stack, services: list[str]) -> dict[str, tuple[str, int]]:
    """Each container's start time and restart count: a restart changes both."""
    found = {}
    for service in services:
        state = stack.inspect(f"{PREFIX}-{service}")
        found[service] = (str(state["State"]["StartedAt"]), int(state["RestartCount"]))
    return found


def _sidecar_failures(stack: Stack, since: float, until: float | None = None) -> dict[str, int]:
    """Each sidecar's failed reads of Vault between two wall-clock times, counted from its
    real log lines as Alloy counts them for the VaultReadsFailing alert
    (components/vault_agent/failures.py)."""
    found = {}
    for service in running(stack):
        if service.endswith(SIDECAR_SUFFIX):
            window = {"since": int(since), **({"until": int(until) + 1} if until else {})}
            logs = stack.container(service).logs(stdout=False, stderr=True, **window)
            tallied = tally(sidecar_failures.COUNT, logs.decode(errors="replace").splitlines(),
                            "stderr")  # fmt: skip
            found[service] = tallied[(sidecar_failures.METRIC, ())]
    return found


def _roles_that_read(stack: Stack, since: float) -> set[str]:
    """The AppRoles (`vos-<stack>-<app>`) with a successful secret read in Vault's audit log
    since a wall-clock time (the tier's Vault declares a file audit device, tools/dev_vault.py)."""
    found = set()
    for line in stack.vault.audit_file.read_text().splitlines():
        record = json.loads(line)
        auth, request = record.get("auth") or {}, record.get("request") or {}
        stamp = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
        if (record["type"] == "response" and stamp >= since and not record.get("error")
                and request.get("path", "").startswith("secret/data/")):  # fmt: skip
            found.add(auth.get("metadata", {}).get("role_name", ""))
    return found


def test_vault_unreachable_for_a_while_changes_nothing_the_apps_do(stack: Stack) -> None:
    key = {"X-API-Key": api_key(stack)}
    services = running(stack)
    before = _starts(stack, services)
    answered, failed = 0, []
    stopped = time.time()
    stack.vault.stop()
    try:
        deadline = time.monotonic() + VAULT_OUTAGE_S
        while time.monotonic() < deadline:  # one authenticated call a second through the edge
            try:
                status, _, _ = https_call(stack, "GET", "/api/v1/whoami", headers=key)
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
            answered, failed = (
                (answered + 1, failed) if status == 200 else (answered, [*failed, status])
            )
            time.sleep(1)
        task = https_call(stack, "POST", "/api/v1/agents/weather/tasks", {"input": "abc"}, key)
    finally:
        stack.vault.start()
    returned, returned_wall = time.monotonic(), time.time()
    assert failed == [] and answered >= VAULT_OUTAGE_S / 2, (answered, failed)
    assert task[:2] == (200, {"output": "cba", "agent": "weather"}), task
    assert _starts(stack, services) == before  # no app, sidecar or service restarted
    # While it lasted every sidecar logged failed reads, which Alloy counts into the series
    # the VaultReadsFailing alert watches.
    during = _sidecar_failures(stack, stopped, returned_wall)
    assert during and all(n > 0 for n in during.values()), during
    # The sidecars are back on Vault: a rotation made now reaches the gateway's key file,
    # and the new key is taken through the edge, still with no restart. A sidecar may be
    # in its longest backoff when Vault returns (and, if it read just before the rotation,
    # renders it on its next interval).
    counter = int(stack.merged("rotation", {}).get("apiKey", 0))
    stack.update(rotation=stack.merged("rotation", {"apiKey": counter + 1}))
    assert eventually(
        lambda: api_key(stack) != key["X-API-Key"],
        seconds=LONGEST_RETRY_WAIT_S + RENDER_INTERVAL_S,
    )
    assert eventually(lambda: edge_answers(stack, api_key(stack)), seconds=40)
    # Every sidecar reads Vault again within its longest backoff (seen in Vault's audit log:
    # a read with its AppRole since the return), and none failed to since: the modules after
    # this one find them on their render interval, not in a backoff.
    roles = {f"{PREFIX}-{s.removesuffix(SIDECAR_SUFFIX)}" for s in during}
    left = max(2.0, returned + LONGEST_RETRY_WAIT_S - time.monotonic())  # one look at least
    assert eventually(lambda: roles <= _roles_that_read(stack, returned_wall), seconds=left), (
        roles - _roles_that_read(stack, returned_wall)
    )
    # (A read under way when Vault returned may still log its failure: 5 s of grace.)
    after = _sidecar_failures(stack, returned_wall + 5)
    assert set(after) == set(during) and not any(after.values()), after
    assert _starts(stack, services) == before
