"""postgres_exporter: PostgreSQL's figures, behind TLS and the scrape identity."""

from __future__ import annotations

from typing import Any

from components.postgres_exporter.containers import exporter_spec
from components.postgres_exporter.definition import DEFINITION
from components.service import Deployed, ServiceArgs, ServiceComponent


class PostgresExporter(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:PostgresExporter"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        identity = args.pki.certificates[DEFINITION.client_certificate("postgres-monitor").name]
        self.server = self.container(
            "server",
            exporter_spec(
                self.service.image_reference,
                self.tls,
                args.pki.metrics_ca_cert_pem,
                identity.cert_pem,
                identity.private_key_pem,
            ),
        )
        return {}
