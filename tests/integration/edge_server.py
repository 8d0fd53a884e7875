"""The TLS edge for tests/integration/test_edge.py: Debian's nginx run from the rendered
nginx.conf (remapped: /etc/vos and the tmpfs folder to temporary folders, the listen port and
the upstream address to free local ports), its PKI, and a client that dials it by name."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.edge.files import EdgeLimits, nginx_conf
from stacks.edge_settings import CorsSettings, RouteLimit
from tests.helpers import output, write_private
from tests.integration.nginx_server import start_nginx
from tests.integration.sockets import free_port
from tools.offline import material
from tools.offline.runner import Evaluation

EDGE_NAME = "edge.vos.test"


class Edge:
    """nginx started from the rendered configuration."""

    def __init__(
        self,
        root: Path,
        upstream_port: int,
        limits: EdgeLimits,
        files: dict[str, str],
        rendered: str | None = None,
        trusted_proxies: tuple[str, ...] = (),
        route_limits: tuple[RouteLimit, ...] = (),
        cors_settings: CorsSettings | None = None,
    ) -> None:
        """`rendered`: the program's own nginx.conf (its gateway address remapped), instead
        of one rendered here with `limits` and the other settings."""
        self.port = free_port()
        config_dir, tmp = root / "etc", root / "tmp"
        (config_dir / "tls").mkdir(parents=True)
        tmp.mkdir()
        for name, text in files.items():
            write_private(config_dir / "tls", name, text)
        if rendered is None:
            rendered = nginx_conf(
                f"127.0.0.1:{upstream_port}",
                "api-gateway",
                [EDGE_NAME],
                limits=limits,
                trusted_proxies=trusted_proxies,
                route_limits=route_limits,
                cors_settings=cors_settings,
            )
        else:
            upstream = f'set $vos_gateway "{GATEWAY.dns_name}:{GATEWAY.tls_port}";'
            assert upstream in rendered
            rendered = rendered.replace(upstream, f'set $vos_gateway "127.0.0.1:{upstream_port}";')
        self.log, self.errors = root / "access.log", root / "error.log"
        self.process = start_nginx(
            rendered, config_dir, tmp, "listen 8443 ", self.port, self.log, self.errors
        )

    def access_log(self) -> list[dict[str, Any]]:
        """Every access log line so far, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Pki:
    ca: str
    edge_files: dict[str, str]
    gateway_cert: str
    gateway_key: str


def edge_pki(dev: Evaluation, folder: Path) -> Pki:
    """The platform CA, a server certificate for EDGE_NAME it issued, the gateway's own
    certificate and key, as files."""
    ca_cert = str(output(dev.named("pki-ca-cert"), "certPem"))
    ca_key = str(output(dev.named("pki-ca-key"), "privateKeyPem"))
    # The edge's own server certificate, issued by the platform CA.
    key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    csr = material.cert_request(
        {
            "privateKeyPem": key["privateKeyPem"],
            "subject": {"commonName": EDGE_NAME},
            "dnsNames": [EDGE_NAME],
        }
    )
    cert = material.locally_signed_cert(
        {
            "certRequestPem": csr["certRequestPem"],
            "caPrivateKeyPem": ca_key,
            "caCertPem": ca_cert,
            "validityPeriodHours": 24,
            "allowedUses": ["digital_signature", "server_auth"],
        }
    )
    return Pki(
        ca=write_private(folder, "ca.crt", ca_cert),
        edge_files={
            "server.crt": str(cert["certPem"]),
            "server.key": str(key["privateKeyPem"]),
            "ca.crt": ca_cert,
        },
        gateway_cert=write_private(
            folder, "gw.crt", str(output(dev.named("pki-api-gateway-cert"), "certPem"))
        ),
        gateway_key=write_private(
            folder, "gw.key", str(output(dev.named("pki-api-gateway-key"), "privateKeyPem"))
        ),
    )


def client(pki: Pki, edge: Edge) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=pki.ca)
    connection = http.client.HTTPSConnection(EDGE_NAME, edge.port, context=context, timeout=10)
    # Resolve the edge's name to this machine without touching /etc/hosts.
    connection.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", edge.port), timeout=10),
        server_hostname=EDGE_NAME,
    )
    return connection


def request(
    pki: Pki, edge: Edge, method: str = "GET", path: str = "/", **kwargs: Any
) -> tuple[http.client.HTTPResponse, bytes]:
    connection = client(pki, edge)
    try:
        connection.request(method, path, **kwargs)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()
