"""Broker users, permissions and topology: each service reads only its own queue and
publishes only to the shared exchange. Nobody but the admin may configure anything."""

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
APP_QUEUES = r"^vos\.(gateway|agent\..+)$"
"""Every app's queue (`vos.gateway`, `vos.agent.<name>`), as the policies match them."""


@dataclass(frozen=True)
class BrokerUser:
    name: str
    """Also the service's DNS name."""
    queue: str
    routing_pattern: str
    """Binding of its queue: the routing keys it receives."""
    publish_prefix: str
    """Every routing key it publishes starts with this (the app contract hands it over)."""

    @property
    def publish_pattern(self) -> str:
        """Topic permission: a regular expression of the routing keys it may publish."""
        return f"^{re.escape(self.publish_prefix)}"

    @property
    def credential_id(self) -> str:
        return DEFINITION.of_consumer(self.name)

    @property
    def permissions(self) -> tuple[str, str, str]:
        """(configure, write, read) regular expressions."""
        return ("^$", f"^{re.escape(EXCHANGE)}$", f"^{re.escape(self.queue)}$")


def users(settings: Settings) -> list[BrokerUser]:
    found = []
    # Who may say what: the gateway hands tasks to any agent (agent.<name>.*); an agent
    # answers only the gateway and only under its own name (gateway.<name>.*), so it cannot
    # write into another agent's queue or answer as another agent.
    if settings.is_enabled(GATEWAY.key):
        found.append(BrokerUser(GATEWAY.dns_name, "vos.gateway", "gateway.#", "agent."))
    found += [
        BrokerUser(
            a.dns_name,
            f"vos.agent.{a.name}",
            f"agent.{a.name}.#",
            f"gateway.{a.name}.",
        )
        for a in settings.agents
    ]
    return found
