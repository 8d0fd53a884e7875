"""The backup service: Barman streaming the stack's PostgreSQL and backing it up."""

from __future__ import annotations

from typing import Any

from components.app.component import build_source
from components.postgres.containers import server_volume
from components.postgres_backup.containers import backup_spec
from components.postgres_backup.copies import Offsite
from components.postgres_backup.definition import DEFINITION, EGRESS_CERTIFICATE
from components.postgres_backup.weaviate_backups import WeaviateBackups
from components.service import Deployed, ServiceArgs, ServiceComponent
from components.weaviate.containers import BACKUPS_SUFFIX
from components.weaviate.definition import DEFINITION as WEAVIATE


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
        weaviate = None
        if args.settings.weaviate_backups:
            weaviate = WeaviateBackups(
                args.credentials.values[DEFINITION.own("weaviate-api-key")],
                args.settings.backup.weaviate.schedule,
                policy.window_days,
                # Made with Weaviate's container, which this service is created after
                # (infra/assembly.py).
                f"{args.settings.name_prefix}-{WEAVIATE.dns_name}-{BACKUPS_SUFFIX}",
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
                weaviate,
            ),
        )
        return {}
