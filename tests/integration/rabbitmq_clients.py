"""The clients the RabbitMQ tests use against a broker started from the rendered files:
verified AMQPS logins per user, confirmed publishes, the management and metrics endpoints
over HTTPS."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest
import urllib3

from tests.helpers import output, write_private
from tests.integration.rabbitmq_server import RabbitMqServer
from tools.offline.mocks import MockState
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config

PROFILE = read_stack_config("dev")


class Broker:
    def __init__(self, tmp: Path, data_mib: int | None = None) -> None:
        self.tmp = tmp
        self.state = MockState()
        self.evaluation = evaluate("dev", PROFILE, state=self.state)
        self.server = RabbitMqServer(data_mib)
        self.server.install(containers(self.evaluation)["rabbitmq"])
        self.server.start()
        self.ca = self.write("ca.crt", output(self.evaluation.named("pki-ca-cert"), "certPem"))

    def write(self, name: str, text: str) -> str:
        return write_private(self.tmp, name, text)

    def publish(self, routing_key: str, body: bytes) -> None:
        """Publish a persistent message as the gateway, confirmed by the broker."""
        with self.connect("api-gateway", self.password("api-gateway")) as gateway:
            confirmed(gateway).basic_publish(
                "vos.messages", routing_key, body, pika.BasicProperties(delivery_mode=2)
            )

    def password(self, user: str) -> str:
        return str(output(self.evaluation.named(f"credentials-{user}-rabbitmq-password"), "result"))

    def connect(
        self,
        user: str,
        password: str,
        *,
        vhost: str = "vos",
        ca: str | None = None,
        tls: bool = True,
    ) -> pika.BlockingConnection:
        context = ssl.create_default_context(cafile=ca or self.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return pika.BlockingConnection(
            pika.ConnectionParameters(
                host="127.0.0.1",
                port=self.server.amqps,
                virtual_host=vhost,
                credentials=pika.PlainCredentials(user, password),
                ssl_options=pika.SSLOptions(context, server_hostname="rabbitmq") if tls else None,
                connection_attempts=1,
                socket_timeout=10,
                blocked_connection_timeout=10,
            )
        )

    def https(
        self,
        port: int,
        path: str,
        auth: tuple[str, str] | None = None,
        client_cert: tuple[str, str] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        pool = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=self.ca,
            server_hostname="rabbitmq",
            assert_hostname="rabbitmq",
            cert_file=client_cert[0] if client_cert else None,
            key_file=client_cert[1] if client_cert else None,
            retries=False,
        )
        headers = {}
        if auth:
            headers["Authorization"] = (
                "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            )
        return pool.request("GET", f"https://127.0.0.1:{port}{path}", headers=headers, timeout=10)

    def scraper(self) -> tuple[str, str]:
        """Prometheus's scrape identity (the metrics CA's), as files."""
        ev = self.evaluation
        cert = self.write("scraper.crt", output(ev.named("pki-prometheus-scraper-cert"), "certPem"))
        key = output(ev.named("pki-prometheus-scraper-key"), "privateKeyPem")
        return cert, self.write("scraper.key", key)

    def admin_password(self) -> str:
        return str(output(self.evaluation.named("credentials-rabbitmq-admin-password"), "result"))


def refused(action: Any) -> str:
    with pytest.raises(
        (pika.exceptions.ChannelClosedByBroker, pika.exceptions.ConnectionClosedByBroker)
    ) as caught:
        action()
    return str(caught.value)


def drain(connection: pika.BlockingConnection, queue: str) -> list[bytes]:
    """Every message waiting in `queue`, in order, taken (acknowledged)."""
    channel, bodies = connection.channel(), []
    while (message := channel.basic_get(queue, auto_ack=True))[0]:
        bodies.append(message[2])
    return bodies


def confirmed(connection: pika.BlockingConnection) -> Any:
    """A channel whose publishes wait for the broker's answer (so a refusal is raised)."""
    channel = connection.channel()
    channel.confirm_delivery()
    return channel
