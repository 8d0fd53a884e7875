"""Weaviate: one server container, API keys delivered as a file."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker

from components.service import ServiceArgs, ServiceComponent
from components.weaviate import files
from components.weaviate.containers import server_spec
from components.weaviate.definition import DEFINITION
from components.weaviate.users import users


class Weaviate(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:data:Weaviate"

    server: docker.Container

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        managed = users(args.settings)
        keys = pulumi.Output.all(*(args.credentials.values[u.credential_id] for u in managed))
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference, managed, keys.apply(files.keys_file), self.tls
            ),
        )
        return {}
