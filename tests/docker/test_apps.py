"""The apps at work, the reference apps (apps/) running as the stack's apps: a task sent
through the published edge reaches an agent over RabbitMQ and its answer comes back, only
with the client's API key; each app logs in to PostgreSQL as its own role over TLS; an agent
built from source runs the image built on the engine."""

from __future__ import annotations

import json
import re

from stacks.images import local_tag
from tests.docker.probes import APPS, api_key, app_ready, eventually, https_call, weaviate_status
from tests.docker.provider import BUILD
from tests.docker.stack import PREFIX, PRIMARY_IMAGE, Stack
from tools.offline.mocks import unwrap


def _all_ready(stack: Stack) -> None:
    found: dict[str, str] = {}

    def ready() -> bool:
        for app in APPS:
            ok, found[app] = app_ready(stack, app)
            if not ok:
                return False
        return True

    assert eventually(ready, seconds=120), found


def test_a_task_through_the_edge_reaches_an_agent_and_its_answer_comes_back(
    stack: Stack,
) -> None:
    _all_ready(stack)
    task = {"input": "abc"}
    for headers in ({}, {"X-API-Key": "not-the-key"}):
        status, body, _ = https_call(stack, "POST", "/api/v1/agents/weather/tasks", task, headers)
        assert status == 401, (status, body)
    key = {"X-API-Key": api_key(stack)}
    for agent in ("weather", "primary"):
        status, body, headers = https_call(
            stack, "POST", f"/api/v1/agents/{agent}/tasks", task, key
        )
        assert (status, body) == (200, {"output": "cba", "agent": agent}), body
        assert headers.get("Strict-Transport-Security") and headers.get("X-Request-ID")
    # The edge's request id travelled with the message: the agent's JSON log names it.
    request_id = headers["X-Request-ID"]

    def task_lines() -> list[dict[str, object]]:
        """The agent's log lines for this task (written after it answered)."""
        logged = stack.container("primary-agent").logs().decode().splitlines()
        records = [json.loads(line) for line in logged if line.startswith("{")]
        return [x for x in records if x.get("msg") == "task" and x.get("request_id") == request_id]

    assert eventually(lambda: bool(task_lines()), seconds=10), request_id
    # and kept the task in its own Weaviate collection, with its own key
    assert task_lines()[-1]["kept"] is True, task_lines()
    status, body, _ = https_call(stack, "POST", "/api/v1/agents/nobody/tasks", task, key)
    assert status == 404, body


def test_each_app_logs_in_to_postgres_as_its_own_role_over_tls(stack: Stack) -> None:
    """PostgreSQL's own log (log_connections): every app's readiness check logged in as its
    role, over TLS, with the password its sidecar rendered."""
    _all_ready(stack)
    log = stack.container("postgres").logs().decode(errors="replace")
    for role in ("api_gateway", "agent_primary", "agent_weather"):
        pattern = rf"connection authorized: user={role} database=vos .*SSL enabled"
        assert re.search(pattern, log), (role, log[-3000:])


def test_each_agent_made_its_own_weaviate_collection_under_its_prefix(stack: Stack) -> None:
    """Made by each agent with its own key (readiness waits for it); the platform's admin
    sees them; another app's key cannot read one. The gateway keeps nothing there."""
    _all_ready(stack)
    for prefix in ("PrimaryAgent", "WeatherAgent"):
        assert weaviate_status(stack, "vos-admin", "GET", f"/schema/{prefix}Tasks") == 200
    assert weaviate_status(stack, "primary-agent", "GET", "/schema/WeatherAgentTasks") == 403


def test_an_agent_built_from_source_runs_the_image_built_on_the_engine(stack: Stack) -> None:
    build = next(r for r in stack.evaluation.of_type(BUILD) if r.name.startswith("weather"))
    tag = unwrap(build.inputs)["imageName"]
    assert tag == local_tag(str(stack.reference_context), "Dockerfile")
    assert tag.startswith("vos-local/")
    running = stack.inspect(f"{PREFIX}-weather-agent")["Image"]
    assert tag in stack.engine.api().inspect_image(running)["RepoTags"]
    # the other agent runs the image it names
    other = stack.inspect(f"{PREFIX}-primary-agent")["Image"]
    assert PRIMARY_IMAGE in stack.engine.api().inspect_image(other)["RepoTags"]
