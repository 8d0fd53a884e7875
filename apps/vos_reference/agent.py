"""The reference agent: takes tasks from its own queue (only from the gateway), does its
work (a task `fetch <https URL>` calls the outside through the egress proxy), answers the
gateway replica that asked (the task's `reply_to`) under its own name, continuing the
gateway's trace; counts its tasks and tools and shows when it is busy (the contract's agent
metrics)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry import trace
from starlette.applications import Starlette

from vos_reference.broker import Messaging, tls_context
from vos_reference.environment import Environment
from vos_reference.http import application
from vos_reference.observability import BUSY, LLM_DURATION, OUTCOMES, TASKS, TOOLS
from vos_reference.outbound import Outbound
from vos_reference.readiness import Readiness, probe_routes

log = logging.getLogger("vos_reference.agent")
TOOL, FETCH_TOOL = "reverse", "fetch"
"""The reference agent's tools."""
tracer = trace.get_tracer("vos_reference.agent")


PREFETCH = 4
"""Tasks a replica takes at once (the contract's prefetch): a busy replica leaves the rest to
its siblings, and one on a vanished node holds no more than these."""
FETCH_DEADLINE_S = 8
"""Below the gateway's 10 s wait for an answer."""
FETCH = "fetch "
"""A task `fetch <https URL>` uses the fetch tool: an outside call through the egress proxy."""


def work(text: str) -> str:
    """Stands in for the model a real agent calls."""
    if text == "fail":
        raise ValueError("the task asked to fail")
    return text[::-1]


async def act(text: str, outbound: Outbound) -> tuple[str, dict[str, Any], str]:
    """The tool a task uses, the answer, the outcome. The URL to fetch is the caller's: any
    failure of it (a malformed URL, the proxy's refusal, a bad CA, a timeout) is the task's
    error, answered and counted, never an exception that loses the task."""
    if text.startswith(FETCH):
        try:
            fetched = await asyncio.wait_for(
                outbound.get(text.removeprefix(FETCH).strip()), FETCH_DEADLINE_S
            )
        except TimeoutError:
            return FETCH_TOOL, {"error": "fetch failed: no answer in time"}, "error"
        except Exception as error:
            return FETCH_TOOL, {"error": f"fetch failed: {error}"}, "error"
        outcome = "success" if 200 <= fetched.status < 300 else "error"
        return FETCH_TOOL, {"output": fetched.body, "status": fetched.status}, outcome
    try:
        return TOOL, {"output": work(text)}, "success"
    except ValueError as error:
        return TOOL, {"error": str(error)}, "error"


def build(env: Environment) -> Starlette:
    assert env.broker is not None, "an agent lives on the broker"
    messaging = Messaging(
        env.broker, tls_context(env.ca, env.client_cert, env.client_key), PREFETCH
    )
    gateway = urlsplit(env.gateway_url or "https://api-gateway").hostname or "api-gateway"
    readiness = Readiness(env, {"rabbitmq-password": messaging.password}, memory=True)
    readiness.checks["rabbitmq"] = messaging.ready
    # Every outcome's series exists from the start, at 0: rate() counts only what a series
    # gains after its first scrape, so the first burst of errors would otherwise count as
    # nothing and an error-rate alert would miss it.
    for outcome in OUTCOMES:
        TASKS.labels(outcome)
        for tool in (TOOL, FETCH_TOOL):
            TOOLS.labels(tool, outcome)
    outbound = Outbound(env)
    prefix = env.broker.reply_prefix

    async def on_task(user_id: str, body: dict[str, Any], message: AbstractIncomingMessage) -> None:
        if user_id != gateway:
            log.warning("a task not from the gateway", extra={"fields": {"user": user_id}})
            return
        reply_to = message.reply_to or ""
        if reply_to and not (prefix and reply_to.startswith(prefix)):
            # The broker would refuse the answer (and close the channel): the task is
            # rejected to the dead letters instead, for the admin to see.
            raise ValueError(f"a task's reply_to {reply_to!r} is not under {prefix!r}")
        BUSY.set(1)
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span("task", kind=trace.SpanKind.CONSUMER):
                text = str(body.get("input", ""))
                tool, answer, outcome = await act(text, outbound)
                if tool == TOOL:  # the model's stand-in; an outside call is no model call
                    LLM_DURATION.labels("reference").observe(time.perf_counter() - started)
                TOOLS.labels(tool, outcome).inc()
                TASKS.labels(outcome).inc()
                # The answer first: keeping the task is best effort and must not delay it.
                await messaging.publish(
                    "result", answer, message.correlation_id or "", routing_key=reply_to
                )
                memory = readiness.memory
                kept = await memory.keep({"input": text} | answer) if memory else False
                log.info("task", extra={"fields": {"outcome": outcome, "kept": kept}})
        finally:
            BUSY.set(0)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(messaging.run(on_task))
        yield
        task.cancel()
        await messaging.close()

    # An agent serves nothing but its probes: every other route is refused (no caller).
    return application(probe_routes(readiness), None, lifespan)
