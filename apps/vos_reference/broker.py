"""AMQPS as the contract says ("Messaging"): TLS verified with the platform CA and the app's
client certificate, its own user and password file; publish only to the exchange, with
routing keys under its prefix, `user_id` set to its user (the broker refuses anything else),
the request id and the W3C trace context in the headers; consume only its own queue, and
reject a message without `user_id` (the broker checks `user_id` only when it is set, so a
message without one would arrive unattributed). A gateway replica also declares and reads
its own reply queue, so that an agent's answer reaches the replica that asked, not whichever
replica takes the shared queue's next message."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from opentelemetry import context as otel_context
from opentelemetry import propagate

from vos_reference.environment import Broker
from vos_reference.observability import REQUEST_ID
from vos_reference.secret_file import SecretFile

REQUEST_ID_HEADER = "x-request-id"
HEARTBEAT_S = 15
"""The contract's bound ("Messaging"): the broker finds a vanished replica dead in ~30 s."""
log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any], AbstractIncomingMessage], Awaitable[None]]
"""(the publisher's user id, the decoded body, the message)"""


def tls_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class Messaging:
    def __init__(self, settings: Broker, tls: ssl.SSLContext, prefetch: int = 0) -> None:
        """`prefetch`: at most that many messages unacknowledged at once (0: no bound)."""
        self.settings = settings
        self.prefetch = prefetch
        self.tls = tls
        self.password = SecretFile(settings.password_file)
        self.connection: AbstractConnection | None = None
        self.channel: AbstractChannel | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        # One id for the process's life: an answer published while it reconnects reaches the
        # queue declared again under the same name, not a queue nobody reads.
        self.replica = secrets.token_hex(8) if settings.reply_queue_prefix else ""

    def reply_to(self, agent: str) -> str:
        """The gateway: the routing key an agent answers this replica's task under."""
        return f"reply.{agent}.{self.replica}" if self.replica else ""

    async def connect(self) -> None:
        # Not aio-pika's robust connection: it reconnects with the password it started with,
        # and a rotation gives the broker a new one (the sidecar renders it into the file).
        # run() reconnects instead, reading the file again each time.
        self.connection = await aio_pika.connect(
            host=self.settings.host,
            port=self.settings.port,
            login=self.settings.user,
            password=self.password.value(),
            virtualhost=self.settings.vhost,
            ssl=True,
            ssl_context=self.tls,
            # aiormq sends its own heartbeat (60 s unless told), not the broker's proposal.
            heartbeat=HEARTBEAT_S,
        )
        channel = await self.connection.channel(publisher_confirms=True)
        if self.prefetch:
            await channel.set_qos(prefetch_count=self.prefetch)
        # No configure permission: the exchange is the platform's, looked up, never declared.
        self.exchange = await channel.get_exchange(self.settings.exchange, ensure=False)
        self.channel = channel

    async def run(self, handler: Handler) -> None:
        """Connect and consume; when the connection ends (a broker restart, a rotated
        password) or cannot be made yet (the sidecar still rendering the password file),
        try again with the file's current password."""
        while True:
            try:
                await self.connect()
                await self.consume(handler)
                # Polled: when the broker closes the connection (close_all_connections, a
                # restart) the channel can be gone before the connection says so.
                while self.ready():
                    await asyncio.sleep(1)
                log.warning("broker connection lost", extra={"fields": {}})
                await self.close()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("broker not ready", extra={"fields": {"error": str(error)}})
            await asyncio.sleep(2)

    async def close(self) -> None:
        if self.connection and not self.connection.is_closed:
            try:
                await self.connection.close()
            except Exception as error:  # already dropped by the broker
                log.warning(
                    "closing the broker connection", extra={"fields": {"error": str(error)}}
                )

    def ready(self) -> bool:
        return bool(
            self.connection
            and not self.connection.is_closed
            and self.channel is not None
            and not self.channel.is_closed
        )

    async def publish(
        self,
        topic: str,
        body: dict[str, Any],
        correlation_id: str = "",
        reply_to: str = "",
        routing_key: str = "",
    ) -> None:
        """Under the publish prefix and `topic`, or under `routing_key` when given (an
        answer to a task's `reply_to`, already checked against the reply prefix)."""
        assert self.exchange is not None
        headers: dict[str, Any] = {REQUEST_ID_HEADER: REQUEST_ID.get()}
        propagate.inject(headers)  # traceparent, tracestate
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=self.settings.user,
            headers=headers,
            correlation_id=correlation_id or None,
            reply_to=reply_to or None,
        )
        key = routing_key or self.settings.publish_prefix + topic
        await self.exchange.publish(message, routing_key=key)

    async def consume(self, handler: Handler) -> None:
        assert self.channel is not None and self.exchange is not None, "connect() first"
        queues = [await self.channel.get_queue(self.settings.queue, ensure=False)]
        if self.replica:
            # Exclusive: no other connection reads it, and it goes when this one does.
            replies = await self.channel.declare_queue(
                self.settings.reply_queue_prefix + self.replica,
                durable=False,
                exclusive=True,
                auto_delete=True,
            )
            await replies.bind(self.exchange, f"reply.*.{self.replica}")
            queues.append(replies)

        async def on_message(message: AbstractIncomingMessage) -> None:
            if not message.user_id:
                # Unattributed: whoever sent it did not say who they are.
                log.warning("rejected a message without user_id", extra={"fields": {}})
                await message.reject(requeue=False)
                return
            headers = dict(message.headers or {})
            token = otel_context.attach(propagate.extract(_text_headers(headers)))
            request_id = REQUEST_ID.set(str(headers.get(REQUEST_ID_HEADER) or ""))
            try:
                await handler(message.user_id, json.loads(message.body), message)
                await message.ack()
            except Exception:
                log.exception("failed to handle a message")
                await message.reject(requeue=False)
            finally:
                REQUEST_ID.reset(request_id)
                otel_context.detach(token)

        for queue in queues:
            await queue.consume(on_message)


def _text_headers(headers: dict[str, Any]) -> dict[str, str]:
    return {
        k: v.decode() if isinstance(v, bytes) else str(v)
        for k, v in headers.items()
        if isinstance(v, str | bytes)
    }
