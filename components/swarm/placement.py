"""Where a Swarm service runs and how it rolls: chosen from what its spec is, so every
service of the registry gets the same answer on every stack.

- a service with a data volume is stateful: one task, on a node labelled `data=true` (its
  volume is local to that node), replaced stop-first (two servers must never open one data
  directory);
- the edge (a published port) runs once on every node labelled `edge=true` and publishes in
  `host` mode: the client's address reaches nginx, and no routing mesh is needed (none works
  on a kernel without IPVS);
- a service that reads a host folder (Alloy reads the engine's logs) runs once per node;
- everything else is stateless: `replicas` tasks on nodes labelled `apps=true` (the apps) or
  anywhere (the rest), replaced start-first so a healthy new task serves before the old one
  stops.

The labels are the host layer's (ansible/inventories/swarm-example, `swarm_labels`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi

from components.docker.spec import ContainerSpec

EndpointMode = Literal["vip", "dnsrr"]
DATA_LABEL, EDGE_LABEL, APPS_LABEL = "data", "edge", "apps"


def on_label(label: str) -> str:
    return f"node.labels.{label}==true"


@dataclass(frozen=True)
class SwarmPlacement:
    name_prefix: str
    stack: str
    networks: Sequence[pulumi.Input[str]]
    """Ids of the overlay networks its tasks join (networks.py)."""
    memory_mb: int
    cpus: float
    endpoint_mode: EndpointMode
    replicas: int | None
    """Tasks of a replicated service; None: one task on every node the constraints allow."""
    constraints: tuple[str, ...]
    order: Literal["start-first", "stop-first"]
    published: tuple[int, int] | None = None
    """(port on each node, port in the task), published in host mode."""


def swarm_placement(
    spec: ContainerSpec,
    *,
    name_prefix: str,
    stack: str,
    networks: Sequence[pulumi.Input[str]],
    memory_mb: int,
    cpus: float,
    endpoint_mode: EndpointMode,
    replicas: int = 1,
    app: bool = False,
    published: tuple[int, int] | None = None,
) -> SwarmPlacement:
    def made(
        replicas: int | None,
        constraints: tuple[str, ...],
        order: Literal["start-first", "stop-first"],
        published: tuple[int, int] | None = None,
    ) -> SwarmPlacement:
        return SwarmPlacement(name_prefix, stack, networks, memory_mb, cpus, endpoint_mode,
                              replicas, constraints, order, published)  # fmt: skip

    if spec.data_volume is not None:
        if published is not None:
            raise ValueError(f"{spec.service}: a stateful service is not published on Swarm")
        return made(1, (on_label(DATA_LABEL),), "stop-first")
    if published is not None:
        return made(None, (on_label(EDGE_LABEL),), "stop-first", published)
    if spec.host_folders:
        return made(None, (), "stop-first")
    if replicas < 1:
        raise ValueError(f"{spec.service}: replicas must be 1 or more, not {replicas}")
    return made(replicas, (on_label(APPS_LABEL),) if app else (), "start-first")
