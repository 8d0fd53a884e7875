"""The backup service: Barman streaming the stack's PostgreSQL and backing it up."""

from __future__ import annotations

from typing import Any

from components.app.component import build_source
from components.postgres.containers import server_volume
from components.postgres_backup.containers import backup_spec
from components.postgres_backup.copies import Offsite
from components.postgres_backup.definition import DEFINITION, EGRESS_CERTIFICATE
from components.service import Deployed, ServiceArgs, ServiceComponent


class PostgresBackup(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:data:PostgresBackup"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        identity = args.pki.certificates[DEFINITION.client_certificate("postgres-streaming").name]
        policy = args.settings.backup.postgres
        offsite = None
        if policy.offsite != "none":
            egress = args.pki.certificates[DEFINITION.client_certificate(EGRESS_CERTIFICATE).name]
            offsite = Offsite(
                args.credentials.values[DEFINITION.own("encryption-key")],
                policy.window_days,
                args.settings.backup_bucket,
                (egress.cert_pem, egress.private_key_pem),
            )
        self.server = self.container(
            "server",
            backup_spec(
                self.service.image_reference,
                build_source(self.service),
                policy.schedule,
                policy.retention_policy,
                self.tls,
                args.pki.metrics_ca_cert_pem,
                (identity.cert_pem, identity.private_key_pem),
                offsite,
                (
                    server_volume(args.settings.name_prefix, policy.restored_volume),
                    server_volume(args.settings.name_prefix, None),
                ),
            ),
        )
        return {}
