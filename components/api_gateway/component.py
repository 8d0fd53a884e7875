"""The API gateway: its container and its Vault Agent sidecar (components/app); on a Swarm,
its service."""

from __future__ import annotations

from typing import Any

import pulumi_docker as docker

from components.api_gateway.definition import DEFINITION
from components.app.component import app_containers
from components.app.contract import App
from components.service import Deployed, ServiceArgs, ServiceComponent
from stacks.models import AppServiceSettings


class ApiGateway(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:app:ApiGateway"

    app: Deployed
    sidecar: docker.Container | None
    """None on a Swarm (components/app/component.py)."""

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        assert isinstance(self.service, AppServiceSettings), "the gateway is an app"
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
