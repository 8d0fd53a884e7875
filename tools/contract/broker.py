"""AMQPS to the stack's RabbitMQ as the app's counterpart (the agent the gateway writes to,
the gateway an agent answers): its user, password and client certificate, the broker
verified as `rabbitmq` with the platform CA, exactly as the counterpart would connect."""

from __future__ import annotations

import shutil
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pika.spec

from tools.contract.subject import Counterpart


@dataclass(frozen=True)
class Received:
    routing_key: str
    user_id: str | None
    correlation_id: str | None
    reply_to: str | None
    headers: dict[str, Any]
    body: bytes


class BrokerPeer:
    def __init__(
        self, address: str, port: int, host: str, vhost: str, ca_pem: str, who: Counterpart
    ) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="vos-contract-amqp-"))
        try:
            cert, key = self._folder / "id.crt", self._folder / "id.key"
            cert.write_text(who.cert)
            key.touch(mode=0o600)
            key.write_text(who.key)
            context = ssl.create_default_context(cadata=ca_pem)
            context.load_cert_chain(cert, key)
            self.connection = pika.BlockingConnection(
                pika.ConnectionParameters(
                    host=address,
                    port=port,
                    virtual_host=vhost,
                    credentials=pika.PlainCredentials(who.user, who.password),
                    ssl_options=pika.SSLOptions(context, server_hostname=host),
                    connection_attempts=3,
                    retry_delay=2,
                )
            )
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)  # the context holds the key
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        user_id: str | None,
        correlation_id: str,
        headers: dict[str, str] | None = None,
        reply_to: str | None = None,
    ) -> None:
        self.channel.basic_publish(
            exchange,
            routing_key,
            body,
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE,
                user_id=user_id,
                correlation_id=correlation_id,
                reply_to=reply_to,
                headers=headers or {},
            ),
            mandatory=True,
        )

    def reply_queue(self, name: str, exchange: str, binding: str) -> None:
        """Declare a gateway replica's own reply queue (exclusive: it goes with this
        connection) and bind it, as the contract tells the gateway to."""
        self.channel.queue_declare(name, durable=False, exclusive=True, auto_delete=True)
        self.channel.queue_bind(name, exchange, binding)

    def get(self, queue: str, within: float, correlation_id: str | None = None) -> Received | None:
        """The first message in `queue` (with that correlation id, acknowledging any other
        it meets) within `within` seconds, acknowledged; None if none came."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.5)
                continue
            if correlation_id is not None and properties.correlation_id != correlation_id:
                continue
            return Received(
                method.routing_key,
                properties.user_id,
                properties.correlation_id,
                properties.reply_to,
                dict(properties.headers or {}),
                body,
            )
        return None

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
