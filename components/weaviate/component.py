"""Weaviate: one server container, API keys delivered as a file."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.container import dependencies_of, hardened_container, service_placement
from components.service_args import ServiceArgs
from components.weaviate import files
from components.weaviate.containers import server_spec
from components.weaviate.users import users


class Weaviate(pulumi.ComponentResource):
    server: docker.Container

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:data:Weaviate", name, None, opts)
        settings, pki = args.settings, args.pki
        service = settings.services.weaviate
        managed = users(settings)
        keys = pulumi.Output.all(*(args.credentials.values[u.credential_id] for u in managed))
        tls = pki.certificates["weaviate"]
        self.server = hardened_container(
            f"{name}-server",
            server_spec(
                service.image,
                managed,
                keys.apply(files.keys_file),
                tls.cert_pem,
                tls.private_key_pem,
                pki.ca_cert_pem,
            ),
            settings,
            service_placement(settings, "weaviate", args.networks),
            self,
            depends_on=dependencies_of(opts),
        )
        self.register_outputs({})
