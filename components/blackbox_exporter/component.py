"""The blackbox exporter: TLS probes of every endpoint, behind TLS and the scrape identity."""

from __future__ import annotations

from typing import Any

from components.blackbox_exporter.containers import exporter_spec
from components.blackbox_exporter.definition import DEFINITION
from components.service import Deployed, ServiceArgs, ServiceComponent


class BlackboxExporter(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:BlackboxExporter"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        self.server = self.container(
            "server",
            exporter_spec(self.service.image_reference, self.tls, args.pki.metrics_ca_cert_pem),
        )
        return {}
