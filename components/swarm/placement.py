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
  stops;
- an app's replicas are kept apart over the app nodes (`spread`): at most so many per node
  that losing one node never takes them all.

The labels are the host layer's (ansible/inventories/swarm-example, `swarm_labels`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Literal

import pulumi

from components.docker.spec import ContainerSpec

EndpointMode = Literal["vip", "dnsrr"]
Order = Literal["start-first", "stop-first"]
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
    order: Order
    published: tuple[int, int] | None = None
    """(port on each node, port in the task), published in host mode."""
    max_per_node: int = 0
    """Tasks of the service one node may run (0: no limit; `spread`)."""


def spread(replicas: int, nodes: int) -> tuple[Order, int]:
    """How an app's `replicas` tasks are rolled and how many one of its `nodes` may run, so
    that a lost node never takes every task, also after a rolling update.

    Without a limit the scheduler does not keep them apart: it puts a new task on the node
    with the fewest tasks of the service, counting the old task a start-first update is
    about to stop (swarmkit manager/scheduler/scheduler.go, scheduleTaskGroup's nodeLess),
    so two replicas on two nodes can both end up on one (seen on the tier's Swarm). With a
    limit, a start-first update needs room for one task more than `replicas`, or its new
    task waits forever (moby/moby#40797, by design): start-first when that room leaves the
    limit below `replicas`, else stop-first (one task of the app down at a time, the others
    serving). A node lost leaves the tasks the limit cannot place elsewhere pending until it
    returns: capacity is lost for that time, not the app."""
    if replicas < 2 or nodes < 2:
        return "start-first", 0  # nothing to keep apart, or nowhere to
    rolling = ceil((replicas + 1) / nodes)
    if rolling < replicas:
        return "start-first", rolling
    return "stop-first", ceil(replicas / nodes)


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
    app_nodes: int = 1,
    published: tuple[int, int] | None = None,
) -> SwarmPlacement:
    def made(
        replicas: int | None,
        constraints: tuple[str, ...],
        order: Order,
        published: tuple[int, int] | None = None,
        max_per_node: int = 0,
    ) -> SwarmPlacement:
        return SwarmPlacement(name_prefix, stack, networks, memory_mb, cpus, endpoint_mode,
                              replicas, constraints, order, published, max_per_node)  # fmt: skip

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
    if app:
        order, most = spread(replicas, app_nodes)
        return made(replicas, (on_label(APPS_LABEL),), order, max_per_node=most)
    return made(replicas, (), "start-first")
