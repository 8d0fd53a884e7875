"""The TLS edge as a ContainerSpec (no resources created here)."""

from __future__ import annotations

from typing import Any

from components.docker.spec import ContainerSpec, Healthcheck, TlsFiles, Upload, tmpfs_options
from components.edge import files
from components.edge.consoles import ConsoleRoute
from components.edge.definition import DEFINITION
from components.grafana.definition import DEFINITION as GRAFANA
from components.prometheus.definition import DEFINITION as PROMETHEUS
from stacks import Settings
from stacks.edge_settings import EdgeSettings

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid


def edge_spec(image: str, conf: str, tls: TlsFiles) -> ContainerSpec:
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        # nginx itself, not the image's entrypoint (its scripts rewrite files under
        # /etc/nginx, which is read-only here); errors to stderr before the config is read.
        entrypoint=["nginx"],
        command=["-e", "stderr", "-c", files.CONF, "-g", "daemon off;"],
        user=f"{UID}:{UID}",
        uploads=[Upload(files.CONF, conf, UID), *tls.uploads(UID)],
        tmpfs={files.TMP: tmpfs_options(UID)},
        # Inside its own container, against itself: the name check adds nothing here.
        healthcheck=Healthcheck(
            [
                "curl",
                "-fsS",
                "-o",
                "/dev/null",
                "--insecure",
                f"https://127.0.0.1:{DEFINITION.tls_port}{files.HEALTH_PATH}",
            ]
        ),
        internal_ports=[DEFINITION.tls_port],
    )


def client_hostnames(settings: Settings) -> list[str]:
    """The names clients may use in Host: those the edge's certificate carries for them
    (components/pki/specs.py: localhost where the settings ask for it, the public names)."""
    local = ["localhost"] if settings.tls.localhost_sans else []
    return list(dict.fromkeys([*local, *settings.network.public_names]))


CONSOLE_SERVICES = {d.key: d for d in (GRAFANA, PROMETHEUS)}
"""What `edge.consoles` may name (stacks/edge_settings.py, CONSOLES)."""


def console_routes(edge: EdgeSettings) -> list[ConsoleRoute]:
    return [
        ConsoleRoute(
            host=console.host,
            upstream=f"{CONSOLE_SERVICES[key].dns_name}:{CONSOLE_SERVICES[key].tls_port}",
            upstream_name=CONSOLE_SERVICES[key].dns_name,
            allow_from=tuple(console.allow_from),
        )
        for key, console in sorted(edge.consoles.items())
    ]


def conf_for(
    upstream_host: str, upstream_port: int, hostnames: list[str], edge: EdgeSettings
) -> Any:
    return files.nginx_conf(
        f"{upstream_host}:{upstream_port}",
        upstream_host,
        hostnames,
        DEFINITION.tls_port,
        trusted_proxies=edge.trusted_proxies,
        route_limits=edge.rate_limits,
        cors_settings=edge.cors,
        console_routes=console_routes(edge),
    )
