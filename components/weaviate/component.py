"""Weaviate: one server container, API keys delivered as a file, and the job that sets its
roles (RBAC: each app reaches only its own collections)."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.app.component import Runs, build_source
from components.service import Deployed, ServiceArgs, ServiceComponent
from components.weaviate import files
from components.weaviate.containers import server_spec
from components.weaviate.definition import DEFINITION
from components.weaviate.roles import rbac_plan
from components.weaviate.roles_job import roles_job_spec
from components.weaviate.users import users
from stacks import Settings


class Weaviate(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:data:Weaviate"

    server: Deployed
    roles_job: Deployed | None
    roles_job_exit_code: pulumi.Output[int] | None
    """0 once the roles job succeeded; a failed job fails the update (JobFailed)."""

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        settings = args.settings
        managed = users(settings)
        keys = pulumi.Output.all(*(args.credentials.values[u.credential_id] for u in managed))
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                managed,
                keys.apply(files.keys_file),
                self.tls,
                settings.weaviate_backups,
            ),
        )
        self.roles_job, self.roles_job_exit_code = None, None
        runs = _an_app_image(settings)
        if runs is not None:
            self.roles_job = self.container(
                "roles",
                roles_job_spec(
                    runs.image_reference,
                    build_source(runs),
                    json.dumps(rbac_plan(settings), indent=2, sort_keys=True) + "\n",
                    args.credentials.values[DEFINITION.own("admin-api-key")],
                    args.pki.ca_cert_pem,
                ),
                self.placement.for_helper(
                    args.networks.ref(args.networks.backend), memory_mb=128, cpus=0.25
                ),
                after=[self.server],
            )
            self.roles_job_exit_code = self.job_exit_code(
                self.roles_job, f"{settings.name_prefix}-weaviate-roles"
            )
        return {}


def _an_app_image(settings: Settings) -> Runs | None:
    """The image the roles job runs in: the gateway's, else the first agent's (python3 by
    the app contract); None without apps (then no app role is needed)."""
    if settings.is_enabled(GATEWAY.key):
        return settings.service(GATEWAY.key)
    return settings.agents[0] if settings.agents else None
