"""The reference API gateway: login (a JWT for the admin), and tasks handed to an agent over
RabbitMQ, whose answer comes back on this replica's own reply queue (broker.py)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vos_reference.auth import Authenticator, same_secret
from vos_reference.broker import Messaging, tls_context
from vos_reference.environment import Environment
from vos_reference.http import application
from vos_reference.readiness import Readiness, probe_routes
from vos_reference.secret_file import SecretFile

ANSWER_TIMEOUT_S = 10
RETRY_AFTER_S = 5
"""What a caller is told to wait when the agent's queue is full."""
log = logging.getLogger("vos_reference.gateway")


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def build(env: Environment) -> Starlette:
    api_keys = [SecretFile(path) for path in env.api_key_files]
    jwt_secret = SecretFile(env.jwt_secret_file) if env.jwt_secret_file else None
    admin_password = SecretFile(env.admin_password_file) if env.admin_password_file else None
    agents = {name: SecretFile(path) for name, path in env.agent_keys.items()}
    authenticator = Authenticator(api_keys, jwt_secret, agents, env.jwt_ttl_seconds)
    secrets: dict[str, SecretFile] = {"api-key": api_keys[0]} if api_keys else {}
    if jwt_secret:
        secrets["jwt-secret"] = jwt_secret
    messaging = (
        Messaging(env.broker, tls_context(env.ca, env.client_cert, env.client_key))
        if env.broker
        else None
    )
    if messaging:
        secrets["rabbitmq-password"] = messaging.password
    readiness = Readiness(env, secrets)
    if messaging:
        readiness.checks["rabbitmq"] = messaging.ready
    waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def on_answer(
        user_id: str, body: dict[str, Any], message: AbstractIncomingMessage
    ) -> None:
        # Only the agent whose name the routing key carries may answer (the broker's topic
        # permission already says so; the gateway does not take it on trust).
        agent = message.routing_key.split(".")[1] if message.routing_key else ""
        if user_id != f"{agent}-agent":
            log.warning("an answer from the wrong publisher", extra={"fields": {"user": user_id}})
            return
        future = waiting.pop(message.correlation_id or "", None)
        if future and not future.done():
            future.set_result(body | {"agent": agent})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(messaging.run(on_answer)) if messaging else None
        yield
        if task:
            task.cancel()
        if messaging:
            await messaging.close()

    async def login(request: Request) -> JSONResponse:
        body = await _json_object(request)
        expected = admin_password.value() if admin_password else ""
        given = body.get("password") if body else None
        if not (
            expected
            and body
            and body.get("username") == "admin"
            and isinstance(given, str)
            and same_secret(given, expected)
        ):
            return JSONResponse({"error": "unauthorized"}, 401)
        token = authenticator.issue("admin")
        ttl = env.jwt_ttl_seconds
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": ttl})

    async def whoami(request: Request) -> JSONResponse:
        caller = request.state.caller
        return JSONResponse({"kind": caller.kind, "name": caller.name})

    async def task(request: Request) -> JSONResponse:
        agent = request.path_params["agent"]
        if f"{agent}-agent" not in env.agent_keys or messaging is None or not messaging.ready():
            return JSONResponse({"error": "no such agent"}, 404)
        body = await _json_object(request)
        if body is None:
            return JSONResponse({"error": "the body must be a JSON object"}, 400)
        correlation = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiting[correlation] = future
        try:
            await messaging.publish(
                f"{agent}.task",
                {"input": body.get("input")},
                correlation,
                reply_to=messaging.reply_to(agent),
            )
            return JSONResponse(await asyncio.wait_for(future, ANSWER_TIMEOUT_S))
        except DeliveryError:
            # The broker refused the task: the agent's queue is at its bound (a Basic.Nack,
            # which aiormq's channel turns into DeliveryError: _confirm_delivery).
            log.warning("task refused by the broker", extra={"fields": {"agent": agent}})
            return JSONResponse(
                {"error": "the agent has too many tasks waiting; try again later"},
                503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        except TimeoutError:
            return JSONResponse({"error": "the agent did not answer"}, 504)
        finally:
            waiting.pop(correlation, None)  # answered, timed out, or the caller went away

    routes = [
        *probe_routes(readiness),
        Route("/api/v1/auth/login", login, methods=["POST"]),
        Route("/api/v1/whoami", whoami),
        Route("/api/v1/agents/{agent}/tasks", task, methods=["POST"]),
    ]
    return application(routes, authenticator, lifespan)
