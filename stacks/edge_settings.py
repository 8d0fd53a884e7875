"""The TLS edge's settings: who it believes (load balancers), which routes are limited
tighter than the rest, which browser origins may read its answers (CORS), and which
operator consoles (Grafana, Prometheus) it serves under their own names, to whom.

Single-field checks live here; `stacks/rules/edge.py` relates them to the environment
(`*` and http:// never in prod) and to each other (one limit per path, `*` never with
credentials)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from stacks.fields import DNS_NAME, Boolean, Model, matching

AUTH_ROUTE = "/api/v1/auth/"
"""The gateway's login routes (the app contract names them): the default tighter limit."""
ROUTE = re.compile(r"/[A-Za-z0-9._~/-]{1,127}")
"""A literal path prefix below `/` (the overall limit is `/`'s): nginx matches it as text (no
regex, no spaces, no braces, no variables)."""
RATE = re.compile(r"[1-9][0-9]{0,5}r/[sm]")
ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|\*")
"""An exact browser origin as a browser sends it (scheme://host[:port], lower case, no
path), or `*` (any origin: dev only, never with credentials)."""
TOKEN = re.compile(r"[A-Za-z0-9!#%&'*+.^_`|~-]{1,64}")
"""An HTTP token (RFC 9110) without `$`, which nginx would expand as a variable: a method or
header name."""


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not an address or a network (CIDR)") from None


def _proxy_network(value: str) -> str:
    network = _network(value)
    if network.prefixlen == 0:
        raise ValueError(f"'{value}' would believe every client's X-Forwarded-For")
    return str(network)


def _console_network(value: str) -> str:
    return str(_network(value))


CONSOLES = ("grafana", "prometheus")
"""What the edge serves as a console (stacks/rules/edge.py refuses any other key)."""


def _console_host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return value
    raise ValueError(f"'{value}' is an address: a console is served under a DNS name of its own")


class ConsoleSettings(Model):
    """An operator console served by the edge under its own name: the only way to reach it
    on a Swarm, where only the edge is published. Its own login stays (Grafana's users,
    Prometheus' basic auth); the edge adds TLS under a public name and an address list."""

    host: Annotated[
        str,
        matching(DNS_NAME, "DNS name (e.g. grafana.example.com)"),
        AfterValidator(_console_host),
    ]
    allow_from: list[Annotated[str, AfterValidator(_console_network)]] = Field(
        min_length=1,
        max_length=50,
        description="CIDRs operators come from (the edge answers 403 to any other address; "
        "after trustedProxies, the client's)",
    )


class RouteLimit(Model):
    """Requests per client address under one path prefix, on top of the edge's overall
    limit: 429 with Retry-After beyond `rate` plus `burst`."""

    path: Annotated[str, matching(ROUTE, "path prefix (e.g. /api/v1/auth/)")]
    rate: Annotated[str, matching(RATE, "rate: requests per second or minute, e.g. 10r/m")]
    burst: int = Field(default=0, ge=0, le=10000, description="requests above the rate at once")


class CorsSettings(Model):
    """Which web pages (origins) a browser lets read the API's answers. No origins: the
    edge sends no CORS headers, and browsers let no other origin read anything."""

    allowed_origins: list[Annotated[str, matching(ORIGIN, "origin (https://host[:port])")]] = Field(
        default=[], max_length=50
    )
    allow_credentials: Boolean = Field(
        default=False, description="let pages send cookies or HTTP auth (never with `*`)"
    )
    allowed_methods: list[Annotated[str, matching(TOKEN, "HTTP method")]] = Field(
        default=["GET", "POST", "PUT", "PATCH", "DELETE"], min_length=1, max_length=20
    )
    allowed_headers: list[Annotated[str, matching(TOKEN, "header name")]] = Field(
        default=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID", "traceparent"],
        max_length=50,
    )
    max_age_seconds: int = Field(
        default=600, ge=0, le=7200, description="how long a browser keeps a preflight answer"
    )


class EdgeSettings(Model):
    """The TLS edge as the first proxy, or behind load balancers it then believes."""

    trusted_proxies: list[Annotated[str, AfterValidator(_proxy_network)]] = Field(
        default=[],
        max_length=20,
        description="CIDRs of load balancers in front of the edge whose X-Forwarded-For it "
        "takes as the client's address (none by default: the edge's peer is the client)",
    )
    rate_limits: list[RouteLimit] = Field(
        default=[RouteLimit(path=AUTH_ROUTE, rate="10r/m", burst=5)],
        max_length=50,
        description="path prefix -> rate and burst per client address, tighter than the "
        "overall limit (by default the gateway's login routes)",
    )
    cors: CorsSettings = CorsSettings()
    consoles: dict[str, ConsoleSettings] = Field(
        default={},
        description="grafana / prometheus -> the name the edge serves it under and who may "
        "reach it (none by default: the consoles are reached by their published ports)",
    )
