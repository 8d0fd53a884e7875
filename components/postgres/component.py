"""PostgreSQL: the server container and the job that keeps roles and passwords current."""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from components.off_loop import off_loop
from components.postgres import files
from components.postgres.containers import role_job_spec, server_spec, server_volume
from components.postgres.definition import DEFINITION
from components.postgres.roles import (
    ADMIN_CERTIFICATE,
    ADMIN_ROLE,
    backup_role,
    monitor_role,
    roles,
)
from components.postgres.scram import verifier
from components.service import Deployed, ServiceArgs, ServiceComponent


class Postgres(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:data:Postgres"

    server: Deployed
    role_job: Deployed
    role_job_exit_code: pulumi.Output[int]
    """0 once the role job succeeded; a failed job fails the update (JobFailed)."""
    client_urls: dict[str, pulumi.Output[str]]
    """service DNS name -> its secret connection string (sslmode=verify-full)."""

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        settings, pki, values = args.settings, args.pki, args.credentials.values
        managed = roles(settings)
        monitor, backup = monitor_role(settings), backup_role(settings)
        passwords = [values[role.credential_id] for role in managed]

        def sql(secrets: list[str]) -> str:
            admin, *others = secrets
            pairs = [
                (role, verifier(pw, role.name)) for role, pw in zip(managed, others, strict=True)
            ]
            return files.roles_sql(verifier(admin, ADMIN_ROLE), pairs, monitor, backup)

        admin_tls = pki.certificates[ADMIN_CERTIFICATE]
        restored = settings.backup.postgres.restored_volume
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                files.pg_hba_conf(managed, monitor, backup),
                self.tls,
                values[DEFINITION.own("bootstrap-password")],
                backup=backup is not None,
                restored_volume=restored,
            ),
        )
        self.role_job = self.container(
            "roles",
            role_job_spec(
                self.service.image_reference,
                pulumi.Output.all(values[DEFINITION.own("admin-password")], *passwords).apply(
                    partial(off_loop, sql)
                ),
                pki.ca_cert_pem,
                admin_tls.cert_pem,
                admin_tls.private_key_pem,
                server_volume(settings.name_prefix, restored),
            ),
            self.placement.for_helper(
                args.networks.ref(args.networks.backend), memory_mb=128, cpus=0.25
            ),
            after=[self.server],
        )
        # The job runs in one transaction: when it fails, no role changed.
        self.role_job_exit_code = self.job_exit_code(
            self.role_job, f"{settings.name_prefix}-postgres-roles"
        )
        self.client_urls = {
            role.service: pulumi.Output.secret(
                values[role.credential_id].apply(partial(files.client_url, role.name))
            )
            for role in managed
        }
        return {"roleJobExitCode": self.role_job_exit_code}
