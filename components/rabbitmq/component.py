"""RabbitMQ: one broker container whose users come from definitions loaded at boot."""

from __future__ import annotations

from typing import Any

import pulumi

from components.rabbitmq import files
from components.rabbitmq.containers import broker_spec
from components.rabbitmq.definition import DEFINITION
from components.rabbitmq.password_hash import password_hash
from components.rabbitmq.users import ADMIN, DEAD_LETTER, users
from components.service import Deployed, ServiceArgs, ServiceComponent


class RabbitMq(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:messaging:RabbitMq"

    broker: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        values = args.credentials.values
        managed = users(args.settings)

        def definitions(passwords: list[str]) -> str:
            admin, *others = passwords
            pairs = [(u, password_hash(pw, u.name)) for u, pw in zip(managed, others, strict=True)]
            return files.definitions(password_hash(admin, ADMIN), pairs)

        passwords = [
            values[DEFINITION.own("admin-password")],
            *(values[u.credential_id] for u in managed),
        ]
        self.broker = self.container(
            "server",
            broker_spec(
                self.service.image_reference,
                pulumi.Output.all(*passwords).apply(definitions),
                self.tls,
                args.pki.metrics_ca_cert_pem,
                values[DEFINITION.own("erlang-cookie")],
                ([ADMIN, *(u.name for u in managed)], [*(u.queue for u in managed), DEAD_LETTER]),
                memory_mb=self.service.memory_mb,
            ),
        )
        return {}
