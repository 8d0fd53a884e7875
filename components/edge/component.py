"""The TLS edge: nginx, the only published entry to the API gateway."""

from __future__ import annotations

from typing import Any

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.edge.containers import client_hostnames, conf_for, edge_spec
from components.edge.definition import DEFINITION
from components.service import Deployed, ServiceArgs, ServiceComponent


class Edge(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:edge:Edge"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        settings = args.settings
        conf = conf_for(
            GATEWAY.dns_name,
            GATEWAY.tls_port,
            client_hostnames(settings),
            settings.edge,
        )
        self.server = self.container(
            "server", edge_spec(self.service.image_reference, conf, self.tls)
        )
        return {}
