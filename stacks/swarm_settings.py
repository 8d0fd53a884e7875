"""How a stack runs on a Swarm (`target: swarm`): how its tasks are reached, whether its
overlays are encrypted, over how many app nodes its apps are kept apart. Pure, like the
rest of the settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stacks.fields import Boolean, Model


class SwarmSettings(Model):
    """How the stack runs on a Swarm (`target: swarm`); rules/swarm.py relates it to the rest."""

    endpoint_mode: Literal["vip", "dnsrr"] = Field(
        default="vip",
        description="how a service's tasks are reached: vip (a virtual IP; the nodes' kernel "
        "needs IPVS) or dnsrr (DNS round robin, for kernels without it)",
    )
    encrypted_overlays: Boolean = Field(
        default=True,
        description="IPsec on the overlays between nodes (the nodes' kernel needs ESP); "
        "required in prod",
    )
    app_nodes: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="how many nodes carry the host layer's `apps` label: an app's replicas "
        "are kept apart over them (components/swarm/placement.py, spread); needed once an "
        "app runs 2 tasks or more, at least 2 in prod",
    )
