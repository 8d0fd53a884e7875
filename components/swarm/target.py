"""A spec of the single-host target placed on a Swarm instead: the same spec and the same
single-host `Placement` (its prefix, networks, limits and published port), turned into a
`docker.Service` (hardened_service) or, for a one-shot job, a SwarmJob (job.py), placed by
what the spec is (placement.py).

How an app gets its secrets here: a Swarm task shares no volume with a sidecar, so no Vault
Agent runs beside it. The program already holds every secret it writes to Vault (Vault stays
the system of record: each value handed on is the output of that write); each becomes a
`docker.Secret` mounted at the path the sidecar would have rendered (the contract's
`*_FILE`, the app's uid, 0400). A rotation is a new secret (its name carries a hash of its
content), so Swarm rolls the app's tasks start-first: the contract is unchanged for apps,
and the new value arrives by a rolling restart instead of a re-read (the app contract
says both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pulumi
import pulumi_docker as docker

from components.app.contract import NODE_TEMPLATE, TASK_TEMPLATE
from components.docker.container import Placement
from components.docker.spec import ContainerSpec
from components.swarm.job import SwarmJob, swarm_job
from components.swarm.placement import swarm_placement
from components.swarm.service import hardened_service
from stacks import Settings


def on_swarm(
    name: str,
    spec: ContainerSpec,
    placement: Placement,
    settings: Settings,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    *,
    replicas: int = 1,
    app: bool = False,
) -> docker.Service | SwarmJob:
    published = (
        (placement.published_port, placement.published_internal_port)
        if placement.published_port is not None and placement.published_internal_port
        else None
    )
    swarm = swarm_placement(
        spec,
        name_prefix=placement.name_prefix,
        stack=placement.stack,
        networks=placement.networks,
        memory_mb=placement.memory_mb,
        cpus=placement.cpus,
        endpoint_mode=settings.swarm.endpoint_mode,
        replicas=replicas,
        app=app,
        app_nodes=settings.swarm.app_nodes or 1,
        published=published,
    )
    if app:
        # Where each replica runs, for its `vos_app_info` (the app contract's Metrics).
        where = {"VOS_NODE_NAME": NODE_TEMPLATE, "VOS_TASK_NAME": TASK_TEMPLATE}
        spec = replace(spec, env=spec.env | where)
    if spec.one_shot:
        return swarm_job(name, spec, swarm, parent, depends_on)
    return hardened_service(name, spec, swarm, parent, depends_on)
