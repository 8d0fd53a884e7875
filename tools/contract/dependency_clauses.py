"""The clauses that need the platform's data services (tools/contract/dependencies.py runs
the dev stack's own): readiness that follows them, and messaging as docs/APP-CONTRACT.md's
"Messaging" says, checked from the other end of the app's messages with the counterpart's
own broker identity."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from components.app.contract import READY_PATH
from components.rabbitmq.files import HEARTBEAT_S
from components.rabbitmq.users import DEAD_LETTER
from tools.contract.broker import BrokerPeer, Received
from tools.contract.checking import (
    RELOAD_WITHIN_S,
    ClauseFailed,
    ClauseNotChecked,
    Run,
    key_accepted,
    readiness,
    require,
    until,
)
from tools.contract.dependencies import Dependencies
from tools.contract.errors import VerifyError
from tools.contract.probes import Answer
from tools.contract.subject import Counterpart

READY_WITHIN_S = 90
"""From the data services' start: PostgreSQL's first initdb, RabbitMQ's boot, the jobs."""
NOTICED_WITHIN_S = 30
"""A dependency lost shows in /readyz by then (a check every few seconds, each bounded)."""
MESSAGE_WITHIN_S = 15
REJECTED_WITHIN_S = 10
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def _dependencies(run: Run) -> Dependencies:
    if run.dependencies is None:
        raise ClauseNotChecked("run with --no-dependencies")
    try:
        run.dependencies.ready()
    except VerifyError as error:
        raise ClauseFailed(f"the platform's data services did not start: {error}") from None
    return run.dependencies


def _every_secret(run: Run) -> str:
    """Render the secret withheld at the start (with the stack's own value) and wait until
    the app takes it; the value."""
    path = run.subject.withheld
    value = run.subject.secrets[path]
    run.app.render(path, value)
    name = PurePosixPath(path).name
    if run.subject.role == "gateway":
        taken = until(lambda: key_accepted(run, value), RELOAD_WITHIN_S)
    else:
        taken = until(lambda: name not in (readiness(run) or []), RELOAD_WITHIN_S)
    require(taken, f"{name} rendered was not taken within {RELOAD_WITHIN_S} s")
    return value


def ready_with_dependencies(run: Run) -> None:
    """Ready once every secret is rendered and the data services answer; not ready while
    PostgreSQL is stopped; ready again when it is back."""
    dependencies = _dependencies(run)
    _every_secret(run)
    require(
        until(lambda: readiness(run) is None, READY_WITHIN_S),
        f"{READY_PATH} not ready {READY_WITHIN_S} s after its secrets and data services: "
        f"waiting for {readiness(run)}",
    )
    database = run.subject.env.get("VOS_POSTGRES_HOST")
    if not database:
        return
    container = dependencies.container(database)
    container.stop(timeout=10)
    try:
        require(
            until(lambda: readiness(run) is not None, NOTICED_WITHIN_S),
            f"{READY_PATH} still ready {NOTICED_WITHIN_S} s after {database} stopped",
        )
    finally:
        container.start()
    require(
        until(lambda: readiness(run) is None, READY_WITHIN_S),
        f"{READY_PATH} not ready again {READY_WITHIN_S} s after {database} came back: "
        f"waiting for {readiness(run)}",
    )


def _broker(run: Run, dependencies: Dependencies, who: Counterpart) -> BrokerPeer:
    env = run.subject.env
    host = env["VOS_RABBITMQ_HOST"]
    return BrokerPeer(
        dependencies.address(host),
        int(env["VOS_RABBITMQ_PORT"]),
        host,
        env["VOS_RABBITMQ_VHOST"],
        run.subject.ca,
        who,
    )


def _dead_letters(run: Run, dependencies: Dependencies) -> int:
    """Messages in the dead-letter queue, as the broker itself counts them."""
    vhost = run.subject.env["VOS_RABBITMQ_VHOST"]
    rows = _listed(run, dependencies, "list_queues", "-p", vhost, "name", "messages")
    for name, count in rows:
        if name == DEAD_LETTER and count.strip().isdigit():
            return int(count)
    raise ClauseFailed(f"the broker lists no {DEAD_LETTER} queue: {rows[-5:]!r}")


def _listed(run: Run, dependencies: Dependencies, *what: str) -> list[list[str]]:
    """Rows of a `rabbitmqctl list_<what>` on the stack's broker, as the broker sees them."""
    env = run.subject.env
    done = dependencies.container(env["VOS_RABBITMQ_HOST"]).exec_run(
        ["rabbitmqctl", "-q", *what, "--no-table-headers"]
    )
    lines = done.output.decode(errors="replace").splitlines()
    return [line.strip().split("\t") for line in lines if "\t" in line]


def _beats_and_prefetch(run: Run, dependencies: Dependencies) -> None:
    """The app's broker connection beats at the contract's bound at most; an agent consumes
    its queue with a prefetch."""
    env = run.subject.env
    user = env["VOS_RABBITMQ_USER"]
    beats = {int(t) for u, t in _listed(run, dependencies, "list_connections", "user", "timeout")
             if u == user and t.isdigit()}  # fmt: skip
    require(bool(beats), f"the broker lists no connection of {user}")
    require(
        0 < max(beats) <= HEARTBEAT_S,
        f"{user} connects with a heartbeat of {sorted(beats)} s: at most {HEARTBEAT_S} s "
        "(0 is none), or a replica on a vanished node holds its messages for minutes",
    )
    if run.subject.role != "agent":
        return
    rows = _listed(run, dependencies, "list_consumers", "-p", env["VOS_RABBITMQ_VHOST"],
                   "queue_name", "prefetch_count")  # fmt: skip
    prefetch = [int(n) for q, n in rows if q == env["VOS_RABBITMQ_QUEUE"] and n.isdigit()]
    require(
        bool(prefetch) and 0 not in prefetch,
        f"{env['VOS_RABBITMQ_QUEUE']} consumed with prefetch {prefetch}: set basic.qos "
        "(0 is no bound: one replica takes every waiting task)",
    )


def _attributed(run: Run, message: Received, what: str, prefix: str = "") -> str:
    """The contract's properties of a message the app published (its routing key under
    `prefix`, by default its publish prefix); its trace id."""
    env = run.subject.env
    require(
        message.user_id == env["VOS_RABBITMQ_USER"],
        f"{what} published with user_id {message.user_id!r}, not {env['VOS_RABBITMQ_USER']!r}",
    )
    prefix = prefix or env["VOS_RABBITMQ_PUBLISH_PREFIX"]
    require(
        message.routing_key.startswith(prefix),
        f"{what} published with routing key {message.routing_key!r}, not under {prefix!r}",
    )
    header = message.headers.get("traceparent")
    traceparent = header.decode() if isinstance(header, bytes) else str(header or "")
    matched = TRACEPARENT.match(traceparent)
    require(matched is not None, f"{what} carries no W3C traceparent header: {header!r}")
    assert matched is not None
    return matched.group(1)


def _gateway(run: Run, dependencies: Dependencies, agent: Counterpart, key: str) -> None:
    """A task through the gateway's API reaches the agent's queue attributed, with a
    reply_to for that agent; an answer without user_id is rejected to the dead letters, the
    agent's answer under the reply_to reaches the caller."""
    exchange = run.subject.env["VOS_RABBITMQ_EXCHANGE"]
    token = secrets.token_hex(8)
    broker = _broker(run, dependencies, agent)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            asked = pool.submit(
                run.peer.call, run.https, "POST",
                f"/api/v1/agents/{agent.name.removesuffix('-agent')}/tasks",
                {"X-API-Key": key, "Content-Type": "application/json"},
                body=json.dumps({"input": "contract"}),
            )  # fmt: skip
            task = broker.get(agent.queue, MESSAGE_WITHIN_S)
            if task is None:
                status = asked.result().status
                raise ClauseFailed(
                    f"a task asked of {agent.name} (answered {status}) did not reach "
                    f"{agent.queue} within {MESSAGE_WITHIN_S} s"
                )
            _attributed(run, task, "a task")
            require(bool(task.correlation_id), "a task published without a correlation_id")
            reply_to = task.reply_to or ""
            require(
                reply_to.startswith(agent.reply_prefix) and len(reply_to) > len(agent.reply_prefix),
                f"a task's reply_to {reply_to!r} is not {agent.reply_prefix}<replica id>: an "
                "answer could reach another replica of the gateway (Messaging)",
            )
            dead = _dead_letters(run, dependencies)
            for user_id, output in ((None, "unattributed"), (agent.user, token)):
                body = json.dumps({"output": output}).encode()
                broker.publish(exchange, reply_to, body, user_id, task.correlation_id or "")
            answer: Answer = asked.result()
    finally:
        broker.close()
    require("unattributed" not in answer.body, "an answer without user_id was taken")
    require(
        answer.status == 200 and token in answer.body,
        f"the agent's answer did not reach the caller: {answer.status} {answer.body[:200]}",
    )
    require(
        until(lambda: _dead_letters(run, dependencies) > dead, REJECTED_WITHIN_S),
        f"an answer without user_id did not reach {DEAD_LETTER} (rejected without requeue)",
    )


def _agent(run: Run, dependencies: Dependencies, gateway: Counterpart) -> None:
    """A task from a gateway replica is answered under its reply_to, attributed, in the same
    trace; a task without reply_to to the gateway's shared queue; a task without user_id,
    or whose reply_to is another agent's, gets no answer and is rejected to the dead
    letters."""
    env = run.subject.env
    exchange = env["VOS_RABBITMQ_EXCHANGE"]
    topic = f"{gateway.prefix}{run.subject.name.removesuffix('-agent')}.task"
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{parent}-01", "x-request-id": uuid.uuid4().hex}
    body = json.dumps({"input": "contract"}).encode()
    replica = secrets.token_hex(8)
    replies = gateway.reply_queue_prefix + replica
    broker = _broker(run, dependencies, gateway)
    try:
        broker.reply_queue(replies, exchange, f"reply.*.{replica}")
        reply_to = env.get("VOS_RABBITMQ_REPLY_PREFIX", "") + replica
        asked = uuid.uuid4().hex
        broker.publish(exchange, topic, body, gateway.user, asked, headers, reply_to)
        answer = broker.get(replies, MESSAGE_WITHIN_S, asked)
        require(
            answer is not None,
            f"no answer under reply_to {reply_to} to a task (correlation_id {asked}) within "
            f"{MESSAGE_WITHIN_S} s",
        )
        assert answer is not None
        continued = _attributed(run, answer, "an answer", reply_to)
        require(
            continued == trace_id and parent not in str(answer.headers.get("traceparent")),
            f"an answer not in the task's trace {trace_id} (a span of its own under it)",
        )
        shared = uuid.uuid4().hex
        broker.publish(exchange, topic, body, gateway.user, shared, headers)
        require(
            broker.get(gateway.queue, MESSAGE_WITHIN_S, shared) is not None,
            f"no answer in {gateway.queue} to a task without reply_to within {MESSAGE_WITHIN_S} s",
        )
        dead = _dead_letters(run, dependencies)
        unattributed, elsewhere = uuid.uuid4().hex, uuid.uuid4().hex
        broker.publish(exchange, topic, body, None, unattributed, headers, reply_to)
        stolen = f"reply.not-{run.subject.name}.{replica}"
        broker.publish(exchange, topic, body, gateway.user, elsewhere, headers, stolen)
        got = broker.get(replies, REJECTED_WITHIN_S, unattributed)
        require(got is None, "a task without user_id was answered")
    finally:
        broker.close()
    require(
        until(lambda: _dead_letters(run, dependencies) >= dead + 2, REJECTED_WITHIN_S),
        f"a task without user_id and one whose reply_to ({stolen}) is not under the agent's "
        f"reply prefix did not both reach {DEAD_LETTER} (rejected without requeue)",
    )


def messaging(run: Run) -> None:
    dependencies = _dependencies(run)
    other = run.subject.counterpart
    if other is None:
        raise ClauseNotChecked("the dev stack gives the app no broker peer")
    key = _every_secret(run)
    require(
        until(lambda: readiness(run) is None, READY_WITHIN_S),
        f"{READY_PATH} not ready to exchange messages: waiting for {readiness(run)}",
    )
    _beats_and_prefetch(run, dependencies)
    if run.subject.role == "gateway":
        _gateway(run, dependencies, other, key)
    else:
        _agent(run, dependencies, other)
