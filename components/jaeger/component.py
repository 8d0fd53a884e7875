"""Jaeger v2: OTLP in from the apps (their own certificates), traces read by Grafana."""

from __future__ import annotations

from typing import Any

from components.jaeger.containers import server_spec
from components.jaeger.definition import DEFINITION
from components.service import Deployed, ServiceArgs, ServiceComponent


class Jaeger(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Jaeger"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        self.server = self.container(
            "server",
            server_spec(self.service.image_reference, self.tls, args.pki.readers_ca_cert_pem),
        )
        return {}
