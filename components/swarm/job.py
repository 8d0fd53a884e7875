"""A one-shot ContainerSpec (a roles job, an RBAC job) on Swarm: a `replicated-job` service
(job_provider.py) with the service's hardening in the Engine API's terms, its files as Swarm
configs and secrets (files.py), on its overlays, run once per change: its name carries a
hash of everything it runs, so a changed SQL file, image or command is a new job, and an
unchanged one is not run again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pulumi

from components.docker.engine_defaults import LOG_LABELS, log_options
from components.docker.spec import ContainerSpec
from components.swarm.files import SwarmFile, swarm_files
from components.swarm.job_provider import SwarmJobProvider
from components.swarm.placement import SwarmPlacement
from components.swarm.service import tmpfs_mounts
from stacks.docker_values import cpus_nanos

TIMEOUT_S = 300
"""Pulling its image on a node that lacks it, then the job itself."""


class SwarmJob(pulumi.dynamic.Resource, module="swarm", name="Job"):
    """Runs once when created; `name` is the job service's, kept on the Swarm."""

    name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        job_name: pulumi.Input[str],
        task_template: pulumi.Input[dict[str, Any]],
        labels: dict[str, str],
        timeout_s: int = TIMEOUT_S,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"name": job_name, "task_template": task_template, "labels": labels,
                 "timeout_s": timeout_s}  # fmt: skip
        super().__init__(SwarmJobProvider(), name, props, opts)


def _file(f: SwarmFile, key: str) -> dict[str, Any]:
    return {
        "File": {"Name": f.upload.path, "UID": str(f.upload.owner), "GID": str(f.upload.owner),
                 "Mode": int(f.upload.mode, 8)},
        f"{key}ID": f.object_id,
        f"{key}Name": f.object_name,
    }  # fmt: skip


def task_template(
    spec: ContainerSpec, placement: SwarmPlacement, files: list[SwarmFile], labels: dict[str, str]
) -> dict[str, Any]:
    """The Engine API's TaskTemplate (its ContainerSpec's `Command` is the entrypoint,
    `Args` the command)."""
    container: dict[str, Any] = {
        "Image": spec.image,
        "Command": spec.entrypoint or None,
        "Args": spec.command or None,
        "User": spec.user,
        "Env": [f"{k}={v}" for k, v in sorted(spec.env.items())],
        "Hostname": spec.service,
        "ReadOnly": True,
        "CapabilityDrop": ["ALL"],
        "CapabilityAdd": spec.capabilities_add or None,
        "Init": spec.init,
        "Labels": labels,
        "Mounts": [
            {"Type": "tmpfs", "Target": target, "TmpfsOptions": {"SizeBytes": size, "Mode": mode}}
            for target, size, mode in tmpfs_mounts(spec)
        ],
        "Configs": [_file(f, "Config") for f in files if not f.upload.secret],
        "Secrets": [_file(f, "Secret") for f in files if f.upload.secret],
    }
    return {
        "ContainerSpec": {k: v for k, v in container.items() if v is not None},
        "Resources": {
            "Limits": {
                "MemoryBytes": placement.memory_mb * 1024 * 1024,
                "NanoCPUs": cpus_nanos(str(placement.cpus)),
            }
        },
        # A failed job fails the `up` (its output in the error) instead of being retried.
        "RestartPolicy": {"Condition": "none"},
        "Placement": {"Constraints": list(placement.constraints)},
        "Networks": [{"Target": n, "Aliases": [spec.service]} for n in placement.networks],
        "LogDriver": {"Name": "json-file", "Options": log_options("10m", "3", LOG_LABELS)},
    }


def _named(prefix: str, template: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"


def swarm_job(
    name: str,
    spec: ContainerSpec,
    placement: SwarmPlacement,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> SwarmJob:
    if not spec.one_shot:
        raise ValueError(f"{spec.service}: not a one-shot job (hardened_service runs it)")
    if spec.build is not None or spec.shared_mounts or spec.data_volume or spec.host_folders:
        raise ValueError(f"{spec.service}: a Swarm job takes an image, files and tmpfs only")
    prefix = f"{placement.name_prefix}-{spec.service}"
    child = pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))
    uploads = [*spec.uploads, *spec.engine_secrets]
    files = swarm_files(name, placement.name_prefix, spec.service, uploads, child)
    labels = {"vos.stack": placement.stack, "vos.service": spec.service, "vos.role": "job"}
    template = pulumi.Output.from_input(task_template(spec, placement, files, labels))
    return SwarmJob(
        name,
        job_name=template.apply(lambda t: _named(prefix, t)),
        task_template=template,
        labels=labels,
        opts=child,
    )
