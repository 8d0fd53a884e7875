"""What the program sets on every container so that none of an engine's daemon.json defaults
(ansible/roles/docker_engine) is merged into a container's own configuration: the Docker
provider reads that configuration back into state, and a value the program did not set would
show as a change at every preview."""

from __future__ import annotations

import pulumi_docker as docker


def ulimits(nofile: int) -> list[docker.ContainerUlimitArgs]:
    """Set on every container, so an engine's `default-ulimits` never fills them in: dockerd
    merges its defaults into the container's own HostConfig.Ulimits (seen on dockerd 20.10,
    tests/docker/test_host_layer.py), and the provider's Read stores HostConfig.Ulimits as
    `ulimit` (resourceDockerContainerRead, resource_docker_container_funcs.go): a limit the
    program did not set would differ at every preview and replace the container."""
    return [docker.ContainerUlimitArgs(name="nofile", soft=nofile, hard=nofile)]


LOG_LABELS = "vos.service,vos.stack"
"""Labels the json-file log driver copies into every line's `attrs` (Docker docs, json-file
options `labels`)."""


def log_options(max_size: str, max_file: str, labels: str = "") -> dict[str, str]:
    """Every option of the json-file driver and of the logging layer, so that none of a
    daemon's `log-opts` defaults is merged into the container's log config (moby
    daemon/logger.go mergeAndVerifyLogConfig adds each default whose key the container does
    not set). The provider reads the merged map back (resourceDockerContainerRead, log_opts)
    and `log_opts` is ForceNew: a merged default would replace the container at every `up`.
    Non-blocking delivery with a buffer: a slow log writer never stalls a service."""
    return {
        "max-size": max_size,
        "max-file": max_file,
        # json-file refuses compression with a single file (nothing is rotated to compress).
        "compress": "true" if int(max_file) > 1 else "false",
        "labels": labels,
        "labels-regex": "",
        "env": "",
        "env-regex": "",
        "tag": "{{.ID}}",
        "mode": "non-blocking",
        "max-buffer-size": "4m",
    }
