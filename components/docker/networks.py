"""The stack's Docker networks: an internal backend and an edge for published services."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from infra.settings import Settings


class Networks(pulumi.ComponentResource):
    backend: docker.Network
    """internal=True: no route out of the host; databases and brokers live only here."""
    edge: docker.Network
    """Services with published ports join it as well."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:docker:Networks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.backend = docker.Network(
            f"{name}-backend", name=f"{settings.name_prefix}-backend", internal=True, opts=child
        )
        self.edge = docker.Network(f"{name}-edge", name=f"{settings.name_prefix}-edge", opts=child)
        self.register_outputs({})
