"""RabbitMQ: one broker container whose users come from definitions loaded at boot."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.container import dependencies_of, hardened_container, service_placement
from components.rabbitmq import files
from components.rabbitmq.containers import broker_spec
from components.rabbitmq.password_hash import password_hash
from components.rabbitmq.users import ADMIN, users
from components.service_args import ServiceArgs


class RabbitMq(pulumi.ComponentResource):
    broker: docker.Container

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:messaging:RabbitMq", name, None, opts)
        settings, pki, values = args.settings, args.pki, args.credentials.values
        service = settings.services.rabbitmq
        managed = users(settings)

        def definitions(passwords: list[str]) -> str:
            admin, *others = passwords
            pairs = [(u, password_hash(pw, u.name)) for u, pw in zip(managed, others, strict=True)]
            return files.definitions(password_hash(admin, ADMIN), pairs)

        passwords = [values["rabbitmq/admin-password"], *(values[u.credential_id] for u in managed)]
        tls = pki.certificates["rabbitmq"]
        self.broker = hardened_container(
            f"{name}-server",
            broker_spec(
                service.image,
                pulumi.Output.all(*passwords).apply(definitions),
                tls.cert_pem,
                tls.private_key_pem,
                pki.ca_cert_pem,
                values["rabbitmq/erlang-cookie"],
            ),
            settings,
            service_placement(settings, "rabbitmq", args.networks),
            self,
            depends_on=dependencies_of(opts),
        )
        self.register_outputs({})
