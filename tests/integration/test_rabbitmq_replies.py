"""Answers reach the gateway replica that asked (components/rabbitmq/users.py): each replica's
own exclusive reply queue, the gateway's permissions to declare and bind only those, an
agent's to answer only under its own reply prefix. On Debian's RabbitMQ started from the
rendered files, as tests/integration/test_rabbitmq.py starts it."""

from __future__ import annotations

import secrets

import pika
import pytest

from components.rabbitmq.users import REPLY_QUEUE_PREFIX
from tests.integration.rabbitmq_clients import Broker, confirmed, drain, refused

EXCHANGE = "vos.messages"


def _replica(broker: Broker) -> tuple[pika.BlockingConnection, str]:
    """A gateway replica's connection with its reply queue declared and bound, as the
    contract tells it to; (connection, replica id)."""
    replica = secrets.token_hex(8)
    connection = broker.connect("api-gateway", broker.password("api-gateway"))
    channel = connection.channel()
    channel.queue_declare(REPLY_QUEUE_PREFIX + replica, exclusive=True, auto_delete=True)
    channel.queue_bind(REPLY_QUEUE_PREFIX + replica, EXCHANGE, f"reply.*.{replica}")
    return connection, replica


def test_each_replica_gets_the_answers_to_its_own_tasks_and_no_other(broker: Broker) -> None:
    (first, a), (second, b) = _replica(broker), _replica(broker)
    try:
        with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
            channel = confirmed(agent)
            for replica in (a, b):
                channel.basic_publish(EXCHANGE, f"reply.weather.{replica}", replica.encode())
            channel.basic_publish(EXCHANGE, "gateway.weather.result", b"shared")
        assert drain(first, REPLY_QUEUE_PREFIX + a) == [a.encode()]
        assert drain(second, REPLY_QUEUE_PREFIX + b) == [b.encode()]
        # The shared queue took only what was sent to it: no copy of a replica's answer.
        assert drain(first, "vos.gateway") == [b"shared"]
        # Exclusive: the other replica's connection cannot read it.
        assert "RESOURCE_LOCKED" in refused(
            lambda: second.channel().basic_get(REPLY_QUEUE_PREFIX + a)
        )
        # Bounded and dead-lettered like every app queue (the policy matches reply queues).
        listed = broker.server.ctl(
            "list_queues", "-p", "vos", "--no-table-headers", "name", "policy"
        )
        policies = dict(line.split("\t") for line in listed.stdout.splitlines() if "\t" in line)
        assert policies[REPLY_QUEUE_PREFIX + a] == "vos-app-queues", listed.stdout
    finally:
        first.close()
        second.close()
    # Auto-delete, exclusive: the queues went with their connections.
    listed = broker.server.ctl("list_queues", "-p", "vos", "--no-table-headers", "name")
    assert REPLY_QUEUE_PREFIX not in listed.stdout, listed.stdout


@pytest.mark.parametrize(
    ("queue", "binding"),
    [
        ("vos.gateway.private", "reply.*.private"),  # not under the reply prefix
        (REPLY_QUEUE_PREFIX + "a.b", "reply.*.a.b"),  # a dot: not one replica id
        (REPLY_QUEUE_PREFIX + "x", "reply.#"),  # every replica's answers
        (REPLY_QUEUE_PREFIX + "x", "reply.*.#"),
        (REPLY_QUEUE_PREFIX + "x", "agent.weather.task"),  # an agent's tasks
        (REPLY_QUEUE_PREFIX + "x", "gateway.#"),
    ],
)
def test_the_gateway_declares_and_binds_nothing_but_its_reply_queues(
    broker: Broker, queue: str, binding: str
) -> None:
    with broker.connect("api-gateway", broker.password("api-gateway")) as gateway:
        declared = gateway.channel()
        if not queue.startswith(REPLY_QUEUE_PREFIX) or "." in queue.removeprefix(
            REPLY_QUEUE_PREFIX
        ):
            assert "ACCESS_REFUSED" in refused(
                lambda: declared.queue_declare(queue, exclusive=True, auto_delete=True)
            )
            return
        declared.queue_declare(queue, exclusive=True, auto_delete=True)  # control
        error = refused(lambda: declared.queue_bind(queue, EXCHANGE, binding))
        assert "ACCESS_REFUSED" in error and "topic" in error, error


def test_the_gateway_cannot_bind_the_shared_queue_or_read_an_agents(broker: Broker) -> None:
    with broker.connect("api-gateway", broker.password("api-gateway")) as gateway:
        assert "ACCESS_REFUSED" in refused(
            lambda: gateway.channel().queue_bind("vos.gateway", EXCHANGE, "reply.*.x")
        )
        assert "ACCESS_REFUSED" in refused(lambda: gateway.channel().basic_get("vos.agent.weather"))
        assert "ACCESS_REFUSED" in refused(lambda: gateway.channel().queue_delete("vos.gateway"))


@pytest.mark.parametrize(
    ("user", "key", "allowed"),
    [
        ("weather-agent", "reply.weather.abc", True),  # control: its own answers
        ("weather-agent", "reply.primary.abc", False),  # answering as another agent
        ("primary-agent", "reply.weather.abc", False),
        ("api-gateway", "reply.weather.abc", False),  # the gateway forging an answer
    ],
)
def test_answers_are_published_only_under_the_agents_own_reply_prefix(
    broker: Broker, user: str, key: str, allowed: bool
) -> None:
    with broker.connect(user, broker.password(user)) as connection:
        publish = confirmed(connection).basic_publish
        if allowed:
            publish(EXCHANGE, key, b"x")
        else:
            error = refused(lambda: publish(EXCHANGE, key, b"x"))
            assert "ACCESS_REFUSED" in error and f"topic '{key}'" in error, error
