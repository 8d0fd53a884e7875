"""The reference gateway and agent (apps/vos_reference) honour the app contract, run as local
processes from what their containers receive (tests/integration/reference_apps.py), beside
Debian's RabbitMQ 3.10 and PostgreSQL 15 started from their rendered files."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pika
import pytest

from components.app.contract import CLIENT_CERT, CLIENT_KEY
from components.rabbitmq.files import HEARTBEAT_S
from tests.helpers import output, write_private
from tests.integration.reference_apps import (
    App,
    ReferenceStack,
    call,
    ready,
    reference_stack,
    wait_until,
    write_atomically,
)
from tests.integration.tls_probe import AEAD, CBC_ONLY, handshake, tls12_cipher
from tools.contract.subject import secret_value
from tools.offline.runner import Evaluation

PROVES = ("api_gateway", "agents")
"""Packages whose containers this module runs on real servers (tests/program/test_registry.py)."""
TRACE = "0af7651916cd43dd8448eb211c80319c"
WHERE = 'node="node-b",task="vos-dev-api-gateway.2.x"'


@pytest.fixture(scope="module")
def stack(dev: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceStack]:
    with reference_stack(dev, tmp_path_factory.mktemp("reference")) as running:
        # The gateway starts before its client API key is rendered (a sidecar still at work).
        gateway = running.prepare("api-gateway", "gateway", leave_out=("VOS_API_KEY_FILE",))
        running.start(gateway)
        for name in running.agent_names():
            running.start(running.prepare(name, "agent"))
        yield running


def _gateway(stack: ReferenceStack) -> App:
    return stack.apps["api-gateway"]


def _key(stack: ReferenceStack, variable: str = "VOS_API_KEY_FILE") -> str:
    app = _gateway(stack)
    return secret_value(stack.evaluation, app.name, app.secret(variable).name)


def _scraper(dev: Evaluation, folder: Path) -> tuple[str, str]:
    """Prometheus's scrape identity (the metrics CA's), as files."""
    return (
        write_private(
            folder, "s.crt", str(output(dev.named("pki-prometheus-scraper-cert"), "certPem"))
        ),
        write_private(
            folder, "s.key", str(output(dev.named("pki-prometheus-scraper-key"), "privateKeyPem"))
        ),
    )


def test_readiness_waits_for_a_missing_secret_and_follows_it_without_a_restart(
    stack: ReferenceStack,
) -> None:
    gateway = _gateway(stack)
    assert wait_until(lambda: _listening(gateway), timeout=60), gateway.lines()[-20:]
    answer = call(gateway, "GET", "/readyz")
    assert answer.status == 503 and "api-key" in answer.json()["waiting_for"]  # type: ignore[index]
    assert call(gateway, "GET", "/healthz").status == 200  # alive all along
    pid = gateway.process.pid if gateway.process else None
    write_atomically(gateway.secret("VOS_API_KEY_FILE"), _key(stack))
    assert wait_until(lambda: ready(gateway), timeout=60), call(gateway, "GET", "/readyz").body
    assert gateway.process and gateway.process.pid == pid and gateway.process.poll() is None
    for agent in stack.agent_names():
        assert wait_until(lambda a=stack.apps[agent]: ready(a), timeout=60), agent


def _listening(app: App) -> bool:
    try:
        call(app, "GET", "/healthz")
        return True
    except OSError:
        return False


def test_every_route_but_health_needs_a_caller(stack: ReferenceStack) -> None:
    gateway = _gateway(stack)
    assert wait_until(lambda: ready(gateway), timeout=60)
    assert call(gateway, "GET", "/api/v1/whoami").status == 401
    assert call(gateway, "GET", "/api/v1/nothing-here").status == 401  # not even a 404
    assert call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": "guess"}).status == 401
    ok = call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": _key(stack)})
    assert ok.status == 200 and ok.json() == {"kind": "client", "name": "api-key"}
    previous = _key(stack, "VOS_API_KEY_PREVIOUS_FILE")
    answer = call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": previous})
    assert answer.json() == {"kind": "client", "name": "api-key-previous"}
    agent_key = secret_value(stack.evaluation, "api-gateway", "weather-agent.internal-api-key")
    answer = call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": agent_key})
    assert answer.json() == {"kind": "agent", "name": "weather-agent"}
    # An agent serves its probes only.
    agent = stack.apps["weather-agent"]
    assert call(agent, "GET", "/api/v1/whoami", {"X-API-Key": _key(stack)}).status == 401


def test_a_login_gives_a_short_lived_token_and_forgeries_are_refused(
    stack: ReferenceStack,
) -> None:
    gateway = _gateway(stack)
    password = secret_value(stack.evaluation, "api-gateway", "admin-password")
    for wrong in ("x", "\ud800", 7, None):  # a lone surrogate or a number: 401, never 500
        body = {"username": "admin", "password": wrong}
        assert call(gateway, "POST", "/api/v1/auth/login", body=body).status == 401, wrong
    login = call(
        gateway, "POST", "/api/v1/auth/login", body={"username": "admin", "password": password}
    )
    token = str(login.json()["access_token"])  # type: ignore[index]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == int(gateway.env["VOS_JWT_TTL_SECONDS"])
    bearer = {"Authorization": f"Bearer {token}"}
    assert call(gateway, "GET", "/api/v1/whoami", bearer).json() == {
        "kind": "token",
        "name": "admin",
    }
    secret = secret_value(stack.evaluation, "api-gateway", "jwt-secret")
    now = int(time.time())
    forged = {
        "another key": jwt.encode({"sub": "admin", "iat": now, "exp": now + 60}, "x" * 64),
        "expired": jwt.encode({"sub": "admin", "iat": now - 120, "exp": now - 60}, secret),
        "too long-lived": jwt.encode({"sub": "admin", "iat": now, "exp": now + 86400}, secret),
        "no exp": jwt.encode({"sub": "admin", "iat": now}, secret),
        "alg none": jwt.encode({"sub": "admin", "iat": now, "exp": now + 60}, None, "none"),
    }
    for what, token in forged.items():
        answer = call(gateway, "GET", "/api/v1/whoami", {"Authorization": f"Bearer {token}"})
        assert answer.status == 401, what


def test_a_rolled_over_key_is_taken_from_the_files_without_a_restart(
    stack: ReferenceStack,
) -> None:
    gateway = _gateway(stack)
    old, new = _key(stack), "N" * 48
    # What the sidecar renders after `rotation.apiKey` moves: a new current, the old previous.
    write_atomically(gateway.secret("VOS_API_KEY_PREVIOUS_FILE"), old)
    write_atomically(gateway.secret("VOS_API_KEY_FILE"), new)
    retired = _key(stack, "VOS_API_KEY_PREVIOUS_FILE")
    try:
        # Each key is named, so the logs show who still uses the replaced one.
        for key, name in ((new, "api-key"), (old, "api-key-previous")):
            answer = call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": key})
            assert answer.json() == {"kind": "client", "name": name}
        assert call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": retired}).status == 401
    finally:  # as it was, for the other tests
        write_atomically(gateway.secret("VOS_API_KEY_FILE"), old)
        write_atomically(gateway.secret("VOS_API_KEY_PREVIOUS_FILE"), retired)


def test_metrics_are_served_only_to_the_metrics_cas_scrape_identity(
    stack: ReferenceStack, dev: Evaluation, tmp_path: Path
) -> None:
    gateway = _gateway(stack)
    call(gateway, "GET", "/api/v1/whoami", {"X-API-Key": _key(stack)})
    scraper = _scraper(dev, tmp_path)
    answer = call(gateway, "GET", "/metrics", port=gateway.metrics_port, identity=scraper)
    text = answer.body.decode()
    assert answer.status == 200
    assert (
        'http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/api/v1/whoami"}'
        in text
    )
    # Invented methods share one series: a caller cannot grow the metrics without bound.
    for method in ("BREW", "BREW2"):
        call(gateway, method, "/api/v1/whoami")
    text = call(
        gateway, "GET", "/metrics", port=gateway.metrics_port, identity=scraper
    ).body.decode()
    assert 'http_request_method="_OTHER"' in text and "BREW" not in text
    own = (str(gateway.file(CLIENT_CERT)), str(gateway.file(CLIENT_KEY)))
    for identity in (None, own):  # none, or the platform CA's (an app's)
        with pytest.raises((ssl.SSLError, OSError)):
            call(gateway, "GET", "/metrics", port=gateway.metrics_port, identity=identity)


def test_an_agent_shows_each_outcome_at_zero_before_its_first_task(
    stack: ReferenceStack, dev: Evaluation, tmp_path: Path
) -> None:
    """rate() counts only what a series gains after its first scrape: a series born with the
    first error would hide that error from the failure-rate alerts."""
    agent = stack.apps["primary-agent"]  # this module sends it no task
    assert wait_until(lambda: ready(agent))
    text = call(
        agent, "GET", "/metrics", port=agent.metrics_port, identity=_scraper(dev, tmp_path)
    ).body.decode()
    for outcome in ("success", "error"):
        assert f'vos_agent_tasks_total{{outcome="{outcome}"}} 0.0' in text, text
        assert f'vos_agent_tool_executions_total{{outcome="{outcome}",tool="reverse"}} 0.0' in text


def test_a_task_reaches_an_agent_over_rabbitmq_and_its_answer_comes_back_in_one_trace(
    stack: ReferenceStack, dev: Evaluation, tmp_path: Path
) -> None:
    gateway, agent = _gateway(stack), stack.apps["weather-agent"]
    headers = {
        "X-API-Key": _key(stack),
        "X-Request-ID": "req-ref-1",
        "traceparent": f"00-{TRACE}-b7ad6b7169203331-01",
    }
    answer = call(gateway, "POST", "/api/v1/agents/weather/tasks", headers, {"input": "hello"})
    assert answer.status == 200, answer.body
    assert answer.json() == {"output": "olleh", "agent": "weather"}
    assert answer.headers["x-request-id"] == "req-ref-1"
    failed = call(gateway, "POST", "/api/v1/agents/weather/tasks", headers, {"input": "fail"})
    assert failed.status == 200 and "error" in failed.json()  # type: ignore[operator]
    unknown = call(gateway, "POST", "/api/v1/agents/nobody/tasks", headers, {"input": "x"})
    assert unknown.status == 404
    not_an_object = call(gateway, "POST", "/api/v1/agents/weather/tasks", headers, ["x"])
    assert not_an_object.status == 400

    def logged(app: App, msg: str) -> list[dict[str, object]]:
        found = []
        for line in app.lines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("msg") == msg and record.get("request_id") == "req-ref-1":
                    found.append(record)
        return found

    assert wait_until(lambda: len(logged(agent, "task")) == 2, timeout=10), agent.lines()[-10:]
    # The same request id and trace in the gateway's line and the agent's.
    for record in (*logged(gateway, "request"), *logged(agent, "task")):
        assert record["trace_id"] == TRACE, record
    scraper = _scraper(dev, tmp_path)
    metrics = call(
        agent, "GET", "/metrics", port=agent.metrics_port, identity=scraper
    ).body.decode()
    assert 'vos_agent_tasks_total{outcome="success"} 1.0' in metrics
    assert 'vos_agent_tasks_total{outcome="error"} 1.0' in metrics
    assert "vos_agent_busy 0.0" in metrics


def test_each_gateway_replica_gets_the_answers_to_its_own_tasks(
    stack: ReferenceStack, dev: Evaluation, tmp_path: Path
) -> None:
    """Two replicas share the gateway's identity and its queue: each declares its own reply
    queue, so every answer reaches the replica holding the caller's request (with one
    shared queue, about half would time out in the other replica). Each tells where it runs
    (what Swarm fills in) in `vos_app_info`."""
    first = _gateway(stack)
    second = stack.prepare("api-gateway", "gateway", replica="2")
    second.env |= {"VOS_NODE_NAME": "node-b", "VOS_TASK_NAME": "vos-dev-api-gateway.2.x"}
    # Its sidecar would render what the first replica's renders now (a test may rotate it).
    for variable in ("VOS_RABBITMQ_PASSWORD_FILE", "VOS_API_KEY_FILE"):
        write_atomically(second.secret(variable), first.secret(variable).read_text())
    stack.start(second)
    try:
        assert wait_until(lambda: ready(second), timeout=60), second.lines()[-10:]
        headers = {"X-API-Key": _key(stack)}
        for n in range(12):
            replica = (first, second)[n % 2]
            text = f"task-{n}"
            answer = call(replica, "POST", "/api/v1/agents/weather/tasks", headers, {"input": text})
            assert answer.status == 200, (n, answer.status, answer.body)
            assert answer.json() == {"output": text[::-1], "agent": "weather"}
        scraper = _scraper(dev, tmp_path)
        for replica, where in ((first, 'node="",task=""'), (second, WHERE)):
            metrics = call(
                replica, "GET", "/metrics", port=replica.metrics_port, identity=scraper
            ).body.decode()
            assert f"vos_app_info{{{where}}} 1.0" in metrics, metrics[:300]
    finally:
        assert second.process is not None
        second.process.terminate()
        second.process.wait(timeout=10)


def test_the_broker_sees_short_heartbeats_and_a_bounded_prefetch_of_agents(
    stack: ReferenceStack,
) -> None:
    """As the broker itself reports them: every app's connection beats at the contract's
    bound (a replica on a vanished node is found dead in about half a minute), and each
    agent takes a bounded number of tasks at once (what such a replica can hold back)."""
    listed = stack.broker.ctl("list_connections", "user", "timeout", "--no-table-headers")
    beats = {tuple(line.split("\t")) for line in listed.stdout.splitlines() if "\t" in line}
    apps = {"api-gateway", *stack.agent_names()}
    assert beats == {(app, str(HEARTBEAT_S)) for app in apps}, listed.stdout
    consumers = stack.broker.ctl(
        "list_consumers", "-p", "vos", "queue_name", "prefetch_count", "--no-table-headers"
    )
    prefetch = dict(line.split("\t") for line in consumers.stdout.splitlines() if "\t" in line)
    for agent in stack.agent_names():
        queue = f"vos.agent.{agent.removesuffix('-agent')}"
        assert 0 < int(prefetch[queue]) <= 16, consumers.stdout


def test_a_rotated_broker_password_is_taken_from_the_file_on_reconnect(
    stack: ReferenceStack,
) -> None:
    """What `rotation.rabbitmq` does to a running gateway: the broker gets the new password
    and drops the old sessions, the sidecar renders the new file; the gateway reconnects
    with it, without a restart, and tasks flow again."""
    gateway = _gateway(stack)
    pid = gateway.process.pid if gateway.process else None
    new = "R" * 48
    done = stack.broker.ctl("change_password", "api-gateway", new)
    assert done.returncode == 0, done.stderr
    write_atomically(gateway.secret("VOS_RABBITMQ_PASSWORD_FILE"), new)
    closed = stack.broker.ctl("close_all_connections", "--global", "rotation test")
    assert closed.returncode == 0, closed.stderr
    headers = {"X-API-Key": _key(stack)}

    def answered() -> bool:
        task = call(gateway, "POST", "/api/v1/agents/weather/tasks", headers, {"input": "ab"})
        return task.status == 200 and task.json() == {"output": "ba", "agent": "weather"}

    assert wait_until(answered, timeout=60), gateway.lines()[-10:]
    assert gateway.process and gateway.process.pid == pid


def test_the_gateway_and_the_agent_export_one_trace_with_their_own_certificates(
    stack: ReferenceStack,
) -> None:
    """The trace of the task above, as Jaeger's OTLP receiver would get it (a stand-in with
    its certificate and client CA): a span from each app, one trace id, each export made
    with the app's own client certificate."""
    assert stack.traces is not None

    def services() -> set[str]:
        assert stack.traces is not None
        return {s.service for s in stack.traces.received() if s.trace_id == TRACE}

    assert wait_until(lambda: services() >= {"api-gateway", "weather-agent"}, timeout=20), (
        stack.traces.received()[-5:]
    )
    for span in stack.traces.received():
        assert span.client == span.service, span


def test_an_agent_rejects_a_message_without_user_id(stack: ReferenceStack, tmp_path: Path) -> None:
    """The broker checks `user_id` only when it is set: a message without one arrives
    unattributed, and the consumer must refuse it."""
    agent = stack.apps["weather-agent"]
    ca = write_private(tmp_path, "ca.crt", agent.file("/etc/vos/tls/ca.crt").read_text())
    context = ssl.create_default_context(cafile=ca)
    # The gateway's current password (a test above rotates it): what its sidecar rendered.
    password = _gateway(stack).secret("VOS_RABBITMQ_PASSWORD_FILE").read_text()
    parameters = pika.ConnectionParameters(
        host="127.0.0.1",
        port=stack.broker.amqps,
        virtual_host="vos",
        credentials=pika.PlainCredentials("api-gateway", password),
        ssl_options=pika.SSLOptions(context, server_hostname="rabbitmq"),
    )
    before = len(agent.lines())
    # Its own request id: were it handled, the task's line would carry it. (Another test's
    # task may still finish meanwhile, with its own id: it is not this one.)
    request_id = f"anon-{uuid.uuid4().hex}"
    with pika.BlockingConnection(parameters) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            "vos.messages", "agent.weather.task", b'{"input": "anonymous"}',
            pika.BasicProperties(correlation_id="anon", headers={"x-request-id": request_id}),
        )  # fmt: skip

    def rejected() -> bool:
        return any("without user_id" in line for line in agent.lines()[before:])

    assert wait_until(rejected, timeout=10), agent.lines()[-5:]
    handled = [line for line in agent.lines()[before:] if request_id in line]
    assert not any('"outcome"' in line for line in handled), handled  # no work done


def test_the_api_takes_tls_1_2_with_aead_suites_only(stack: ReferenceStack) -> None:
    gateway = _gateway(stack)
    assert "GCM" in tls12_cipher(gateway.port, AEAD)
    with pytest.raises((ssl.SSLError, OSError)):
        tls12_cipher(gateway.port, CBC_ONLY)  # uvicorn's default list would take these
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(gateway.port, ssl.TLSVersion.TLSv1_1)
