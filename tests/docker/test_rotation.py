"""Rotation through a stack update: what the provider replaces is replaced, data is kept, the
apps pick up the new secrets without a restart, the old ones are refused; a failing role
job fails the update until it is fixed and replaced."""

from __future__ import annotations

import json
import time

import pytest

from components.docker.container import JobFailed
from tests.docker.probes import (
    APPS,
    amqp,
    api_key,
    app_ready,
    dead_lettered,
    eventually,
    gateway_url,
    https_call,
    psql,
    read_as_app,
)
from tests.docker.provider import CONTAINER
from tests.docker.stack import OPERATOR_SECRET, PREFIX, Stack
from tests.helpers import output
from tools.offline.rendered import containers


def _queued(stack: Stack) -> dict[str, int]:
    """Messages ready in each queue of the vhost, as the broker counts them."""
    done = stack.container("rabbitmq").exec_run(
        ["rabbitmqctl", "-q", "list_queues", "-p", "vos", "--no-table-headers", "name", "messages"]
    )
    pairs = (line.split() for line in done.output.decode().splitlines())
    return {name: int(count) for name, count in (p for p in pairs if len(p) == 2)}


def _container_ids(stack: Stack) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in stack.engine.api().containers(all=True)}


def test_a_rotation_replaces_what_the_provider_replaces_and_keeps_the_data(
    stack: Stack,
) -> None:
    old_pg = stack.secret("credentials-api-gateway-postgres-password")
    old_mq = stack.secret("credentials-api-gateway-rabbitmq-password")
    setup = "create table if not exists notes(body text); insert into notes values ('kept')"
    assert psql(stack, gateway_url(stack), setup)[0] == 0
    assert amqp(stack, "api-gateway", old_mq, PUBLISH="kept across rotation")[0] == 0
    # The weather agent rejects it (no user_id) into the dead-letter queue, where it waits.
    assert eventually(
        lambda: (
            _queued(stack).get("vos.agent.weather") == 0
            and _queued(stack).get("vos.dead-letter", 0) >= 1
        ),
        seconds=30,
    ), _queued(stack)
    before = _container_ids(stack)
    rotated_at = int(time.time())

    rotated = stack.update(rotation={"postgres": 1, "rabbitmq": 1})

    replaced = {r.name for r in rotated.of_type(CONTAINER) if r.operation == "replace"}
    jobs, brokers = {"postgres-roles", "postgres-roles-files"}, {"rabbitmq-server"}
    assert replaced == jobs | brokers | {"rabbitmq-server-files"}
    after = _container_ids(stack)
    assert after[f"{PREFIX}-postgres"] == before[f"{PREFIX}-postgres"]  # not restarted
    assert after[f"{PREFIX}-rabbitmq"] != before[f"{PREFIX}-rabbitmq"]
    assert output(rotated.named("postgres-roles"), "exitCode") == 0

    new_pg = stack.secret("credentials-api-gateway-postgres-password")
    assert new_pg != old_pg
    old_url = gateway_url(stack).replace(new_pg, old_pg)
    assert psql(stack, old_url, "select 1")[0] != 0
    code, out = psql(stack, gateway_url(stack), "select body from notes")
    assert code == 0 and out.strip() == "kept", out

    # No app or sidecar was replaced: the sidecar renders the new version (render interval
    # 30 s) and the app, reading the file again, logs in with it.
    for app in APPS:
        assert after[f"{PREFIX}-{app}"] == before[f"{PREFIX}-{app}"], app
        assert after[f"{PREFIX}-{app}-vault-agent"] == before[f"{PREFIX}-{app}-vault-agent"]
    password_file = containers(rotated)["api-gateway"].env["VOS_POSTGRES_PASSWORD_FILE"]
    assert eventually(
        lambda: read_as_app(stack, "api-gateway", password_file) == (0, new_pg), seconds=60
    )
    # Every app comes ready again on its own: it logs in to PostgreSQL with the new
    # password (the server says so) and reconnects to the new broker with its new one.
    seen: dict[str, tuple[bool, str]] = {}
    assert eventually(
        lambda: all((seen.__setitem__(a, app_ready(stack, a)), seen[a][0])[1] for a in APPS),
        seconds=120,
    ), seen
    log = stack.container("postgres").logs(since=rotated_at).decode(errors="replace")
    assert "connection authorized: user=api_gateway database=vos" in log, log[-3000:]
    status, answer, _ = https_call(
        stack,
        "POST",
        "/api/v1/agents/weather/tasks",
        {"input": "ab"},
        {"X-API-Key": api_key(stack)},
    )
    assert (status, answer) == (200, {"output": "ba", "agent": "weather"}), answer

    new_mq = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = dead_lettered(stack, "kept across rotation")
    assert code == 0 and "from: vos.agent.weather rejected" in out, out
    code, out = amqp(stack, "api-gateway", old_mq)
    assert code == 3 and "Authentication" in out, out  # the broker answers: the old is refused
    assert amqp(stack, "api-gateway", new_mq)[0] == 0


def test_a_new_operator_secret_reaches_the_app_without_a_restart(stack: Stack) -> None:
    """`pulumi config set --secret --path 'vos-infra:agents[1].secrets.WEATHER_API_KEY'`
    and `up`: a new version in Vault, rendered by the sidecar into the file the agent reads;
    neither the agent nor its sidecar is replaced."""
    path = containers(stack.evaluation)["weather-agent"].env[f"{OPERATOR_SECRET}_FILE"]
    assert read_as_app(stack, "weather-agent", path) == (0, "tier-weather-key-1")
    before = _container_ids(stack)
    agents = json.loads(stack.config.values["vos-infra:agents"])
    agents[1]["secrets"][OPERATOR_SECRET] = "tier-weather-key-2"
    updated = stack.update(agents=agents)
    assert updated.named("vault-weather-agent-operator-weather-api-key").operation == "update"
    assert eventually(
        lambda: read_as_app(stack, "weather-agent", path) == (0, "tier-weather-key-2"), seconds=60
    )
    after = _container_ids(stack)
    for name in (f"{PREFIX}-weather-agent", f"{PREFIX}-weather-agent-vault-agent"):
        assert after[name] == before[name], name


def test_a_failing_role_job_fails_the_update_and_replacing_it_runs_it_again(
    stack: Stack,
) -> None:
    server = stack.container("postgres")
    server.stop()  # the database is down while the update runs
    with pytest.raises(JobFailed, match=r"postgres-roles exited with code 2.*--replace"):
        stack.update(rotation={"postgres": 2})
    assert stack.inspect(f"{PREFIX}-postgres-roles")["State"]["ExitCode"] == 2
    # The failed job is in the state: `up` again fails the same way ...
    with pytest.raises(JobFailed):
        stack.update()
    # ... until the cause is fixed and the job replaced (`pulumi up --replace <urn>`).
    server.start()
    stack.wait_healthy(server.name)
    updated = stack.update(replace=frozenset({"postgres-roles"}))
    assert output(updated.named("postgres-roles"), "exitCode") == 0
    code, out = psql(stack, gateway_url(stack), "select body from notes")
    assert code == 0 and out.strip() == "kept", out
