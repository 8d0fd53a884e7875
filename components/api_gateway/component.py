"""The API gateway: its container and its Vault Agent sidecar (components/app)."""

from __future__ import annotations

from typing import Any

import pulumi_docker as docker

from components.api_gateway.definition import DEFINITION
from components.app.component import app_containers
from components.app.contract import App
from components.service import ServiceArgs, ServiceComponent


class ApiGateway(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:app:ApiGateway"

    app: docker.Container
    sidecar: docker.Container

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        built = app_containers(
            self,
            self._resource_name,
            App(DEFINITION.dns_name, "gateway"),
            self.service,
            self.placement,
            args,
            self._after,
        )
        self.app, self.sidecar = built.app, built.sidecar
        self.specs.update(built.specs)
        return {}
