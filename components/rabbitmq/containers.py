"""The RabbitMQ broker as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, Upload, tmpfs_options
from components.rabbitmq import render

UID = 999  # the rabbitmq user of the official image
DATA = "/var/lib/rabbitmq"
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)


def broker_spec(
    image: str, definitions: Any, cert: Any, key: Any, ca: Any, cookie: Any
) -> ContainerSpec:
    return ContainerSpec(
        service="rabbitmq",
        image=image,
        command=["rabbitmq-server"],
        user=f"{UID}:{UID}",
        env={
            "RABBITMQ_CONFIG_FILE": render.CONF,
            # Our own conf.d instead of the image's (see render.conf_d_override).
            "RABBITMQ_CONFIG_FILES": render.CONF_D,
            "RABBITMQ_ENABLED_PLUGINS_FILE": render.PLUGINS,
            # epmd, started with the node, listens on loopback only (erts epmd(1)); the
            # distribution port follows rabbitmq.conf's distribution.listener.interface.
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": render.NODE_NAME,
        },
        uploads=[
            Upload(render.CONF, render.rabbitmq_conf(), UID),
            Upload(f"{render.CONF_D}/10-defaults.conf", render.conf_d_override(), UID),
            Upload(render.PLUGINS, render.enabled_plugins(), UID),
            Upload(render.DEFINITIONS, definitions, UID, "0400", secret=True),
            Upload(f"{render.TLS_DIR}/server.crt", cert, UID),
            Upload(f"{render.TLS_DIR}/server.key", key, UID, "0400", secret=True),
            Upload(f"{render.TLS_DIR}/ca.crt", ca, UID),
            Upload(render.COOKIE, cookie, UID, "0400", secret=True),
        ],
        data_volume=DATA,
        tmpfs={TMP: tmpfs_options(UID), "/var/log/rabbitmq": tmpfs_options(UID, "32m")},
        healthcheck=Healthcheck(["rabbitmq-diagnostics", "-q", "ping"], start_period="60s"),
        internal_ports=[render.AMQPS_PORT, render.MANAGEMENT_PORT, render.PROMETHEUS_PORT],
    )
