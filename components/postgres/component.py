"""PostgreSQL: the server container and the job that keeps roles and passwords current."""

from __future__ import annotations

from functools import partial

import pulumi
import pulumi_docker as docker

from components.docker.container import (
    Placement,
    dependencies_of,
    hardened_container,
    job_result,
    service_placement,
)
from components.postgres import files
from components.postgres.containers import role_job_spec, server_spec
from components.postgres.roles import ADMIN_ROLE, roles
from components.postgres.scram import verifier
from components.service_args import ServiceArgs


class Postgres(pulumi.ComponentResource):
    server: docker.Container
    role_job: docker.Container
    role_job_exit_code: pulumi.Output[int]
    """0 once the role job succeeded; a failed job fails the update (JobFailed)."""
    client_urls: dict[str, pulumi.Output[str]]
    """service DNS name -> its secret connection string (sslmode=verify-full)."""

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:data:Postgres", name, None, opts)
        settings, pki = args.settings, args.pki
        service = settings.services.postgres
        managed = roles(settings)
        admin_password = args.credentials.values["postgres/admin-password"]
        bootstrap_password = args.credentials.values["postgres/bootstrap-password"]
        passwords = [args.credentials.values[role.credential_id] for role in managed]

        def sql(values: list[str]) -> str:
            admin, *others = values
            pairs = [
                (role, verifier(pw, role.name)) for role, pw in zip(managed, others, strict=True)
            ]
            return files.roles_sql(verifier(admin, ADMIN_ROLE), pairs)

        server_tls = pki.certificates["postgres"]
        admin_tls = pki.certificates["postgres-admin"]
        placement = service_placement(settings, "postgres", args.networks)
        self.server = hardened_container(
            f"{name}-server",
            server_spec(
                service.image,
                files.pg_hba_conf(managed),
                server_tls.cert_pem,
                server_tls.private_key_pem,
                pki.ca_cert_pem,
                bootstrap_password,
            ),
            settings,
            placement,
            self,
            depends_on=dependencies_of(opts),
        )
        self.role_job = hardened_container(
            f"{name}-roles",
            role_job_spec(
                service.image,
                pulumi.Output.all(admin_password, *passwords).apply(sql),
                pki.ca_cert_pem,
                admin_tls.cert_pem,
                admin_tls.private_key_pem,
            ),
            settings,
            Placement(networks=[args.networks.backend.name], memory_mb=128, cpus=0.25),
            self,
            depends_on=[*dependencies_of(opts), self.server],
        )
        # The job runs in one transaction: when it fails, no role changed.
        self.role_job_exit_code = job_result(
            self.role_job, f"{settings.name_prefix}-postgres-roles"
        )
        self.client_urls = {
            role.service: pulumi.Output.secret(
                args.credentials.values[role.credential_id].apply(
                    partial(files.client_url, role.name)
                )
            )
            for role in managed
        }
        self.register_outputs({"roleJobExitCode": self.role_job_exit_code})
