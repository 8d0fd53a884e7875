"""Alloy: ships every container's logs to Loki's gate, with no access to the engine."""

from __future__ import annotations

from typing import Any

from components.alloy.containers import server_spec
from components.alloy.definition import DEFINITION
from components.service import Deployed, ServiceArgs, ServiceComponent
from stacks.images import project_path


class Alloy(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Alloy"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        identity = args.pki.certificates[DEFINITION.client_certificate("alloy-writer").name]
        folder = args.settings.vault.audit_log_folder
        audit = None
        if folder is not None and args.settings.target != "swarm":
            audit = (str(project_path(folder)), args.settings.stack)
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                self.tls,
                identity.cert_pem,
                identity.private_key_pem,
                args.pki.metrics_ca_cert_pem,
                audit,
            ),
        )
        return {}
