"""What every component needs of the stack's networks, on either target: the single host's
bridges (components/docker/networks.py) or a Swarm's overlays
(components/swarm/networks.py)."""

from __future__ import annotations

from typing import Protocol

import pulumi
import pulumi_docker as docker


class StackNetworks(Protocol):
    backend: docker.Network
    edge: docker.Network
    logs: docker.Network
    egress: docker.Network | None

    def ref(self, network: docker.Network) -> pulumi.Output[str]:
        """How a container or service of this target names a network it joins."""
        ...
