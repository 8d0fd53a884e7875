"""One agent: its container and its Vault Agent sidecar (components/app). Agents are not
services of the registry: `vos-infra:agents` lists any number, each with its own identity."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.app.component import app_containers
from components.app.contract import App
from components.docker.container import Placement, dependencies_of
from components.docker.spec import ContainerSpec
from components.service import Deployed, ServiceArgs
from stacks.models import AgentSettings


class Agent(pulumi.ComponentResource):
    app: Deployed
    sidecar: docker.Container | None
    """None on a Swarm (components/app/component.py)."""
    specs: dict[str, ContainerSpec]

    def __init__(
        self,
        name: str,
        agent: AgentSettings,
        args: ServiceArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vos:app:Agent", name, None, opts)
        settings = args.settings
        # Agents are never published: only the backend network.
        placement = Placement(
            name_prefix=settings.name_prefix,
            stack=settings.stack,
            networks=[args.networks.ref(args.networks.backend)],
            memory_mb=agent.memory_mb,
            cpus=agent.cpus,
            bind_address=str(settings.network.bind_address),
            nofile=settings.limits.nofile,
        )
        built = app_containers(
            self,
            name,
            App(agent.dns_name, "agent", agent.name),
            agent,
            placement,
            args,
            dependencies_of(opts),
        )
        self.app, self.sidecar, self.specs = built.app, built.sidecar, built.specs
        self.register_outputs({})
