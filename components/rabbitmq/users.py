"""Broker users, permissions and topology: each service reads only its own queue and
publishes only to the shared exchange. Nobody but the admin may configure anything, except
the gateway's replicas, each declaring its own reply queue (one name pattern, nothing else).

Why reply queues: the gateway's replicas (Swarm runs two or more) share one identity and its
queue `vos.gateway`, where competing consumers would hand an answer to whichever replica
comes next, rarely the one holding the caller's request. Direct reply-to would route by
replica without a queue, but an agent answering it needs write on the default exchange,
which reaches every queue by name. So each replica declares an exclusive, auto-delete queue
`vos.gateway.reply.<replica>`, bound to `reply.*.<replica>`, and a task carries
`reply_to: reply.<agent>.<replica>`: the agent answers under it, its topic permission holding
it to `reply.<its own name>.`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.rabbitmq.definition import DEFINITION
from stacks import Settings

VHOST = "vos"
EXCHANGE = "vos.messages"
ADMIN = "vos_admin"
DEAD_LETTER = "vos.dead-letter"
"""The exchange and the queue that keep what a consumer rejected (a message without
`user_id`, a body it cannot read): inspected by the admin, read by no app."""
DEAD_LETTER_LIMIT = 10_000
DEAD_LETTER_MIB = 256
"""Messages and MiB the dead-letter queue keeps (the oldest dropped beyond either): a flood
of bad messages, large ones too, cannot fill the broker's disk through it."""
APP_QUEUE_LIMIT = 10_000
APP_QUEUE_MIB = 64
"""Messages and MiB each app's queue holds; beyond either the broker refuses the publish
(overflow reject-publish: a publisher with confirms gets a nack, nothing queued is dropped).
One flooding publisher fills one queue to its bound, far below the memory and disk alarms
that would block every publisher of the broker (files.rabbitmq_conf)."""
REPLY_QUEUE_PREFIX = "vos.gateway.reply."
REPLICA = "[a-z0-9][a-z0-9-]{0,62}"
"""A gateway replica's id in its reply queue and its reply routing keys: no dot, no wildcard
(a binding of `reply.*.#` would take every replica's answers)."""
APP_QUEUES = r"^vos\.(gateway|gateway\.reply\..+|agent\..+)$"
"""Every app's queue (`vos.gateway`, its replicas' `vos.gateway.reply.<replica>`,
`vos.agent.<name>`), as the policies match them."""


@dataclass(frozen=True)
class BrokerUser:
    name: str
    """Also the service's DNS name."""
    queue: str
    routing_pattern: str
    """Binding of its queue: the routing keys it receives."""
    publish_prefix: str
    """Every routing key it publishes starts with this (the app contract hands it over)."""
    reply_prefix: str = ""
    """An agent: the routing keys of its answers to a task's `reply_to` start with this."""
    reply_queue_prefix: str = ""
    """The gateway: each replica's own reply queue is this and the replica's id."""

    @property
    def publish_pattern(self) -> str:
        """Topic permission: a regular expression of the routing keys it may publish."""
        prefixes = [re.escape(p) for p in (self.publish_prefix, self.reply_prefix) if p]
        return f"^({'|'.join(prefixes)})" if len(prefixes) > 1 else f"^{prefixes[0]}"

    @property
    def bind_pattern(self) -> str:
        """Topic permission (read): the binding keys it may bind its reply queue with on the
        exchange (the broker checks them at queue.bind); nothing for any other user."""
        return rf"^reply\.\*\.{REPLICA}$" if self.reply_queue_prefix else "^$"

    @property
    def credential_id(self) -> str:
        return DEFINITION.of_consumer(self.name)

    @property
    def permissions(self) -> tuple[str, str, str]:
        """(configure, write, read) regular expressions. The gateway's replicas also declare
        (configure), bind (write on the queue, read on the exchange) and consume (read) their
        own reply queues."""
        exchange, queue = re.escape(EXCHANGE), re.escape(self.queue)
        if not self.reply_queue_prefix:
            return ("^$", f"^{exchange}$", f"^{queue}$")
        replies = f"{re.escape(self.reply_queue_prefix)}{REPLICA}"
        return (f"^{replies}$", f"^({exchange}|{replies})$", f"^({queue}|{replies}|{exchange})$")


def users(settings: Settings) -> list[BrokerUser]:
    found = []
    # Who may say what: the gateway hands tasks to any agent (agent.<name>.*); an agent
    # answers only the gateway and only under its own name (gateway.<name>.* to the shared
    # queue, reply.<name>.<replica> to a replica's), so it cannot write into another agent's
    # queue or answer as another agent.
    if settings.is_enabled(GATEWAY.key):
        found.append(
            BrokerUser(
                GATEWAY.dns_name,
                "vos.gateway",
                "gateway.#",
                "agent.",
                reply_queue_prefix=REPLY_QUEUE_PREFIX,
            )
        )
    found += [
        BrokerUser(
            a.dns_name,
            f"vos.agent.{a.name}",
            f"agent.{a.name}.#",
            f"gateway.{a.name}.",
            reply_prefix=f"reply.{a.name}.",
        )
        for a in settings.agents
    ]
    return found
