"""What each container of an evaluated stack would receive: files, command, environment.

Read from the docker.Container registrations exactly as the engine would see them, so the
real-server tests and `vos-infra render` feed servers what `pulumi up` would upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulumi.runtime import rpc

from components.docker.container import FILES_ROLE
from tools.offline.mocks import unwrap
from tools.offline.runner import Evaluation

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"


@dataclass(frozen=True)
class File:
    path: str
    content: str
    owner: str
    group: str
    mode: str


@dataclass(frozen=True)
class RenderedContainer:
    service: str
    name: str
    image: str
    command: list[str]
    entrypoint: list[str]
    user: str
    env: dict[str, str]
    secret_env: set[str]
    files: dict[str, File]
    ports: list[dict[str, Any]]
    networks: list[dict[str, Any]]
    one_shot: bool
    healthcheck: list[str]
    """The healthcheck's command as Docker runs it (after its CMD), or empty."""
    read_only: bool
    cap_add: list[str]
    tmpfs: dict[str, str]
    """Path -> the tmpfs mount's options."""
    volumes: dict[str, bool]
    """The path of each volume it mounts -> whether read-only."""

    def file(self, path: str) -> str:
        return self.files[path].content


def _images(evaluation: Evaluation) -> dict[str, str]:
    return {
        str(unwrap(r.outputs).get("imageId")): str(unwrap(r.inputs)["name"])
        for r in evaluation.of_type(IMAGE)
    }


def _labels(inputs: dict[str, Any]) -> dict[str, str]:
    return {str(x["label"]): str(x["value"]) for x in inputs.get("labels") or []}


def _files(inputs: dict[str, Any]) -> dict[str, File]:
    return {
        upload["file"]: File(
            upload["file"],
            str(upload.get("content") or ""),
            str(upload.get("owner") or "0"),
            str(upload.get("group") or "0"),
            str(upload.get("permissions") or "0644"),
        )
        for upload in inputs.get("uploads") or []
    }


def containers(evaluation: Evaluation) -> dict[str, RenderedContainer]:
    """service DNS name -> what its container receives: its own settings, and the files its
    files carrier copies into the volumes it mounts."""
    images = _images(evaluation)
    carried: dict[str, dict[str, File]] = {}
    services = []
    for registration in evaluation.of_type(CONTAINER):
        inputs = unwrap(registration.inputs)
        labels = _labels(inputs)
        if labels.get("vos.role") == FILES_ROLE:
            carried[labels["vos.service"]] = _files(inputs)
        else:
            services.append((registration, inputs))
    found = {}
    for registration, inputs in services:
        raw = registration.inputs
        env: dict[str, str] = {}
        secret_env: set[str] = set()
        raw_envs: Any = raw.get("envs") or []
        entries = raw_envs["value"] if rpc.is_rpc_secret(raw_envs) else raw_envs
        for entry in entries:
            key, _, value = str(unwrap(entry)).partition("=")
            env[key] = value
            if rpc.is_rpc_secret(entry) or rpc.is_rpc_secret(raw_envs):
                secret_env.add(key)
        service = str(inputs.get("hostname") or registration.name)
        files = _files(inputs) | carried.get(service, {})
        found[service] = RenderedContainer(
            service=service,
            name=str(inputs.get("name")),
            image=images.get(str(inputs.get("image")), str(inputs.get("image"))),
            command=[str(c) for c in inputs.get("command") or []],
            entrypoint=[str(c) for c in inputs.get("entrypoints") or []],
            user=str(inputs.get("user") or ""),
            env=env,
            secret_env=secret_env,
            files=files,
            ports=list(inputs.get("ports") or []),
            networks=list(inputs.get("networksAdvanced") or []),
            one_shot=not inputs.get("mustRun", True),
            healthcheck=[str(t) for t in (inputs.get("healthcheck") or {}).get("tests", [])[1:]],
            read_only=bool(inputs.get("readOnly")),
            cap_add=[str(c) for c in (inputs.get("capabilities") or {}).get("adds") or []],
            tmpfs={str(k): str(v) for k, v in (inputs.get("tmpfs") or {}).items()},
            volumes={
                str(v["containerPath"]): bool(v.get("readOnly"))
                for v in inputs.get("volumes") or []
                if v.get("volumeName")
            },
        )
    return found
