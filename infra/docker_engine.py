"""The Docker engine the stack's Docker provider talks to, for what the program and the CLI
ask it directly (a restored volume's check, `vos-infra backup`): the stack's `docker:host`
when it sets one, else DOCKER_HOST, else the local socket; DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH either way (the provider's defaults are the same variables:
kreuzwerker/terraform-provider-docker internal/provider/provider.go)."""

from __future__ import annotations

import os

import docker
import docker.utils


def engine_address(host: str | None) -> str:
    return host or os.environ.get("DOCKER_HOST") or "the local socket"


def engine_client(host: str | None, timeout: int = 60) -> docker.DockerClient:
    options = docker.utils.kwargs_from_env()
    if host:
        options["base_url"] = host
    # ssh:// through the `ssh` command, as the provider connects (docker-py's own SSH
    # needs paramiko, which the project does not install).
    ssh = str(options.get("base_url", "")).startswith("ssh://")
    return docker.DockerClient(timeout=timeout, use_ssh_client=ssh, **options)
