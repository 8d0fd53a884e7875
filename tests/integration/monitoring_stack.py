"""The monitoring half as real servers for tests/integration/test_monitoring.py: Debian's
Prometheus, Alertmanager and exporters started from what their containers receive, beside a
real RabbitMQ and PostgreSQL, and a client that speaks to them as the services do."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3

from components.app.inputs import apps
from components.registry import REGISTRY
from stacks import load_settings
from tests.helpers import output, stack_overrides, throwaway_server, write_private
from tests.integration.postgres_server import PostgresServer
from tests.integration.rabbitmq_server import RabbitMqServer
from tests.integration.rendered_server import RenderedServer, free_ports, hosts_file
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"
BINARIES = {
    "postgres-exporter": "prometheus-postgres-exporter",
    "blackbox-exporter": "prometheus-blackbox-exporter",
    "alertmanager": "prometheus-alertmanager",
    "prometheus": "prometheus",
}
"""Started in this order (Prometheus last: it dials the others)."""
FASTER = {"prometheus": {"_interval: 15s": "_interval: 2s"}}
"""Scrapes and rule evaluations every 2 s instead of 15 s (scrape_ and evaluation_interval):
the only change to what the servers receive besides paths, ports and data folders."""
SOONER = {"prometheus": ["--rules.alert.resend-delay=2s"]}
"""Alerts re-sent every 2 s instead of every minute: Prometheus drops what it sends before
its Alertmanager is discovered (the discovery manager updates every 5 s), and the first
evaluation comes sooner than that, so the Watchdog reached Alertmanager only at the resend
a minute later (measured: 64 s)."""
RUNNING_JOBS = {
    "prometheus",
    "rabbitmq",
    "rabbitmq-queues",
    "postgres-exporter",
    "blackbox-exporter",
    "blackbox",
    "alertmanager",
}


@dataclass
class Stack:
    evaluation: Evaluation
    rendered: dict[str, RenderedContainer]
    servers: dict[str, RenderedServer]
    ports: dict[str, int]
    """`name:port` as rendered -> where its test server listens."""
    folder: Path

    def pem(self, name: str, field: str) -> str:
        return str(output(self.evaluation.named(name), field))

    def file(self, name: str, text: str) -> str:
        return write_private(self.folder, name, text)

    def password(self, service: str) -> str:
        return str(output(self.evaluation.named(f"credentials-{service}-admin-password"), "result"))

    def get(
        self,
        service: str,
        path: str,
        auth: tuple[str, str] | None = None,
        cert: str | None = None,
        **fields: Any,
    ) -> Any:
        """An HTTPS request to a server of the stack, verified for its service name."""
        ca = self.file("ca.crt", self.pem("pki-ca-cert", "certPem"))
        client = {}
        if cert:
            client = {
                "cert_file": self.file(f"{cert}.crt", self.pem(f"pki-{cert}-cert", "certPem")),
                "key_file": self.file(f"{cert}.key", self.pem(f"pki-{cert}-key", "privateKeyPem")),
            }
        pool = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=ca, assert_hostname=service, retries=False, **client
        )
        headers = urllib3.make_headers(basic_auth=":".join(auth)) if auth else {}
        port = self.servers[service].port
        return pool.request(
            "GET", f"https://127.0.0.1:{port}{path}", headers=headers, fields=fields, timeout=10
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        auth = ("admin", self.password("prometheus"))
        response = self.get("prometheus", "/api/v1/query", auth=auth, query=promql)
        if response.status == 503:  # still starting (its TSDB): answers "Service Unavailable"
            raise NotReady(f"prometheus: {response.data.decode(errors='replace')[:200]}")
        return list(response.json()["data"]["result"])


class NotReady(Exception):
    """A server that answers but is not ready yet: wait_for asks again."""


class ImpostorTls:
    """A TLS listener with a certificate the probe must refuse (wrong name or wrong CA)."""

    def __init__(self, cert: str, key: str, port: int) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            try:
                with self.context.wrap_socket(raw, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                raw.close()

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()


def rendered_port(container: RenderedContainer) -> int:
    listen = next(a for a in container.command if a.startswith("--web.listen-address="))
    return int(listen.rpartition(":")[2])


def wait_for(check: Any, timeout: float = 60) -> Any:
    """The check's first truthy answer within `timeout` (a server not ready yet counts as a
    falsy answer: a CI run under load saw Prometheus answer 503 to the first query), else
    its last one; at the deadline a server still not ready raises."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except NotReady:
            if time.monotonic() > deadline:
                raise
            result = None
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


@contextmanager
def monitoring_stack(dev: Evaluation, folder: Path) -> Iterator[Stack]:
    """The monitoring servers, RabbitMQ and PostgreSQL (role job run) started from what
    their containers receive, with two impostor TLS listeners as the probes' controls."""
    rendered = containers(dev)
    settings = load_settings("dev", stack_overrides("dev"), REGISTRY)
    names = [d.dns_name for d in REGISTRY] + [app.dns_name for app in apps(settings)]
    hosts = hosts_file(names)
    broker = RabbitMqServer()
    broker.install(rendered["rabbitmq"])
    database = PostgresServer(rendered["postgres"])
    servers: dict[str, RenderedServer] = {}
    impostors: list[ImpostorTls] = []
    try:
        broker.start()
        database.start()
        job = database.run_job(rendered["postgres-roles"])
        assert job.returncode == 0, job.stderr
        ports = {
            "rabbitmq:15691": broker.prometheus,
            "rabbitmq:5671": broker.amqps,
            "postgres:5432": database.port,
        }
        ports |= free_ports(
            [f"{s}:{rendered_port(rendered[s])}" for s in BINARIES] + ["weaviate:8443", "edge:8443"]
        )
        stack = Stack(dev, rendered, servers, ports, folder)
        # Controls for the probes: weaviate's address answers with RabbitMQ's certificate
        # (our CA, another name); edge's with a certificate named edge from another CA.
        wrong_name = (
            stack.file("rmq.crt", stack.pem("pki-rabbitmq-cert", "certPem")),
            stack.file("rmq.key", stack.pem("pki-rabbitmq-key", "privateKeyPem")),
        )
        impostors.append(ImpostorTls(*wrong_name, ports["weaviate:8443"]))
        impostors.append(ImpostorTls(*throwaway_server(folder, "edge"), ports["edge:8443"]))
        for service, binary in BINARIES.items():
            listen = ports[f"{service}:{rendered_port(rendered[service])}"]
            servers[service] = RenderedServer(
                rendered[service],
                binary,
                hosts,
                ports,
                listen,
                FASTER.get(service),
                SOONER.get(service, ()),
            )
        yield stack
    finally:
        for server in reversed(servers.values()):
            server.stop()
        for impostor in impostors:
            impostor.stop()
        database.stop()
        broker.stop()
        hosts.unlink()
