"""A service's files on Swarm: no files carrier (a task cannot be handed files before it
starts), but each upload becomes a Swarm object the engine mounts into every task: a
`docker.ServiceConfig` for what is not secret, a `docker.Secret` for keys and passwords.
Swarm keeps both encrypted in its Raft log; a secret reaches a task on a tmpfs the engine
mounts for it (moby container.SecretMountPath, `mounts/secrets` of the container) and
never a node's disk; an absolute target path is honoured (moby container/container.go
getSecretTargetPath), so the service reads its files where the single-host target puts them.

Both are immutable in Swarm, so each name carries a hash of its content: a changed file is
a new object, the service's reference to it changes, and Swarm rolls the service's tasks
(its update_config says how). A secret's name shows 48 bits of its SHA-256 to whoever may
list the Swarm's secrets, and they are the managers' users, who can mount any secret into a
service of theirs and read it whole anyway. The old object is deleted after the service has
let go of it: at the end of the `up` (a create-before-delete replacement; Swarm refuses to
remove an object a service still uses)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath

import pulumi
import pulumi_docker as docker

from components.docker.spec import Upload

NAME_MAX = 64
"""Swarm refuses longer object names (swarmkit api/validation: names are at most 64
characters)."""


def content_name(prefix: str, service: str, path: str, content: str) -> str:
    """`<prefix>-<service>-<file>-<12 hex of sha256>`, the file part cut so the whole fits
    in NAME_MAX."""
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    stem = f"{prefix}-{service}-"
    room = NAME_MAX - len(stem) - len(digest) - 1
    file = PurePosixPath(path).name.replace(".", "-")[:room]
    return f"{stem}{file}-{digest}"


def _encoded(content: str) -> str:
    return base64.b64encode(content.encode()).decode()


@dataclass(frozen=True)
class SwarmFile:
    upload: Upload
    object_id: pulumi.Output[str]
    object_name: pulumi.Output[str]


def swarm_files(
    name: str, prefix: str, service: str, uploads: list[Upload], opts: pulumi.ResourceOptions
) -> list[SwarmFile]:
    made = []
    for upload in uploads:
        slug = upload.path.strip("/").replace("/", "-")
        content: pulumi.Output[str] = pulumi.Output.from_input(upload.content).apply(str)
        object_name = content.apply(partial(content_name, prefix, service, upload.path))
        data = content.apply(_encoded)
        resource: docker.Secret | docker.ServiceConfig
        if upload.secret:
            secret_data: pulumi.Output[str] = pulumi.Output.secret(data)
            resource = docker.Secret(
                f"{name}-{slug}", name=object_name, data=secret_data, opts=opts
            )
        else:
            resource = docker.ServiceConfig(
                f"{name}-{slug}", name=object_name, data=data, opts=opts
            )
        made.append(SwarmFile(upload, resource.id, resource.name))
    return made
