"""Alertmanager: routes and inhibitions, behind TLS and basic auth (Prometheus's password)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from components.alertmanager import files
from components.alertmanager.containers import server_spec
from components.alertmanager.definition import DEFINITION
from components.off_loop import off_loop
from components.prometheus.web_config import login_web_config
from components.service import Deployed, ServiceArgs, ServiceComponent


class Alertmanager(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Alertmanager"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        password = args.credentials.values[DEFINITION.own("admin-password")]
        alerting = args.settings.alerting
        receivers = alerting.receivers
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                password.apply(partial(off_loop, login_web_config, files.ADMIN)),
                password,
                self.tls,
                receivers,
                {r.name: pulumi.Output.secret(r.secret) for r in receivers if r.secret},
                heartbeat=alerting.heartbeat,
            ),
        )
        return {}
