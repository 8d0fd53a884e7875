"""The RabbitMQ broker as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.rabbitmq import files
from components.rabbitmq.definition import DEFINITION

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
DATA = "/var/lib/rabbitmq"
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def broker_spec(
    image: str,
    definitions: Any,
    tls: TlsFiles,
    metrics_ca: Any,
    cookie: Any,
    declared: tuple[list[str], list[str]] = ([], []),
    *,
    memory_mb: int,
) -> ContainerSpec:
    """`declared`: the user names and queue names the definitions hold; the start script
    deletes any other the broker still has (files.start_script). `memory_mb`: the
    container's limit, which the memory alarm is set below (files.rabbitmq_conf)."""
    users, queues = declared
    return ContainerSpec(
        service="rabbitmq",
        image=image,
        command=["sh", files.START],
        user=f"{UID}:{UID}",
        env={
            "RABBITMQ_CONFIG_FILE": files.CONF,
            # Our own conf.d instead of the image's (see files.conf_d_override).
            "RABBITMQ_CONFIG_FILES": files.CONF_D,
            "RABBITMQ_ENABLED_PLUGINS_FILE": files.PLUGINS,
            # epmd, started with the node, listens on loopback only (erts epmd(1)); the
            # distribution port follows rabbitmq.conf's distribution.listener.interface.
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": files.NODE_NAME,
            "VOS_BROKER_USERS": files.USERS,
            "VOS_BROKER_QUEUES": files.QUEUES,
        },
        uploads=[
            Upload(files.CONF, files.rabbitmq_conf(memory_mb), UID),
            Upload(f"{files.CONF_D}/10-defaults.conf", files.conf_d_override(), UID),
            Upload(files.PLUGINS, files.enabled_plugins(), UID),
            Upload(files.DEFINITIONS, definitions, UID, "0400", secret=True),
            Upload(files.START, files.start_script(), UID),
            Upload(files.USERS, files.names(users), UID),
            Upload(files.QUEUES, files.names(queues), UID),
            *tls.uploads(UID),
            Upload(files.METRICS_CA, metrics_ca, UID),
            Upload(files.COOKIE, cookie, UID, "0400", secret=True),
        ],
        data_volume=DATA,
        tmpfs={TMP: tmpfs_options(UID), "/var/log/rabbitmq": tmpfs_options(UID, "32m")},
        healthcheck=Healthcheck(["rabbitmq-diagnostics", "-q", "ping"], start_period="60s"),
        internal_ports=[files.AMQPS_PORT, files.MANAGEMENT_PORT, files.PROMETHEUS_PORT],
    )
