"""What every reference app's HTTPS API does around its routes: the request id (the edge's
X-Request-ID, or a new one), the W3C trace context (continued from `traceparent`), the
contract's request histogram by route template, one JSON log line per request, and 401 for
every route but health without a valid caller."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from vos_reference.auth import Authenticator
from vos_reference.observability import HTTP_DURATION, REQUEST_ID

PUBLIC = ("/healthz", "/readyz")
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)
"""Known methods keep their name in the metrics; any other is `_OTHER` (OpenTelemetry's HTTP
conventions), so a caller cannot make one series per invented method."""
TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
log = logging.getLogger("vos_reference.http")
tracer = trace.get_tracer("vos_reference")


def route_template(routes: list[Route], request: Request) -> str:
    for route in routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return route.path
    return "unmatched"  # never the raw path: one series per URL would have no bound


def request_middleware(
    routes: list[Route], authenticator: Authenticator | None, public: tuple[str, ...] = PUBLIC
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request_id = given if TOKEN.match(given) else uuid.uuid4().hex
        id_token = REQUEST_ID.set(request_id)
        context_token = otel_context.attach(propagate.extract(dict(request.headers)))
        route = route_template(routes, request)
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span(
                f"{request.method} {route}", kind=trace.SpanKind.SERVER
            ):
                caller = None
                if request.url.path in public or route.endswith("/login"):
                    response = await call_next(request)
                else:
                    headers = request.headers
                    caller = (
                        authenticator.caller(headers.get("x-api-key"), headers.get("authorization"))
                        if authenticator
                        else None
                    )
                    if caller is None:
                        response = JSONResponse({"error": "unauthorized"}, 401)
                    else:
                        request.state.caller = caller
                        response = await call_next(request)
                elapsed = time.perf_counter() - started
                method = request.method if request.method in METHODS else "_OTHER"
                HTTP_DURATION.labels(method, route, str(response.status_code)).observe(elapsed)
                response.headers["X-Request-ID"] = request_id
                if request.url.path not in public:  # the probes would drown the rest
                    fields = {
                        "method": method,
                        "route": route,
                        "status": response.status_code,
                        "duration_s": round(elapsed, 6),
                        "caller": caller.name if caller else "",
                    }
                    log.info("request", extra={"fields": fields})
                return response
        finally:
            otel_context.detach(context_token)
            REQUEST_ID.reset(id_token)

    return middleware


def application(
    routes: list[Route],
    authenticator: Authenticator | None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]],
) -> Starlette:
    """The app's routes behind request_middleware (no authenticator: every route but the
    probes is refused)."""
    middleware = request_middleware(routes, authenticator)
    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=middleware)],
        lifespan=lifespan,
    )
