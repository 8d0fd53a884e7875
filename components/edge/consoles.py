"""The operator consoles the edge serves under names of their own (`edge.consoles`): Grafana
and Prometheus, which on a Swarm have no published port (only the edge is published), reached
through the edge like the API, each in a server block of its own.

Each console keeps its own login (Grafana's users, Prometheus' basic auth); the edge adds the
public TLS name, an address list (403 to any other address, checked on the client's address
after `trustedProxies`), the per-client rate limit, and reaches the console over TLS verified
against the platform CA with the console's own name. Headers differ from the API's on
purpose: a console is a web page with scripts, styles and frames of its own, so the API's
`Content-Security-Policy: default-src 'none'` and `X-Frame-Options: DENY` would break it;
the console sends its own. Grafana Live needs WebSocket upgrades, so they are passed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ConsoleRoute:
    host: str
    """The name clients use (Host and SNI); the edge's certificate carries it."""
    upstream: str
    """host:port of the console on the stack's network."""
    upstream_name: str
    """The name the console's certificate carries."""
    allow_from: tuple[str, ...]
    """CIDRs that may reach it."""


HEADERS = (
    ("Strict-Transport-Security", '"max-age=63072000; includeSubDomains"'),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Request-ID", "$vos_request_id"),
)
HIDDEN = ("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy")
"""The console's own copies, replaced by the edge's (one value each in a browser)."""


def http_lines(routes: Sequence[ConsoleRoute]) -> list[str]:
    if not routes:
        return []
    return [
        "  # A WebSocket upgrade (Grafana Live) passed on; otherwise the connection closes.",
        "  map $http_upgrade $vos_console_connection {",
        "    default upgrade;",
        "    '' close;",
        "  }",
    ]


def servers(
    routes: Sequence[ConsoleRoute],
    tls: Sequence[str],
    upstream: Callable[[str], list[str]],
    burst: int,
) -> list[str]:
    """One server block per console. `tls`: the listen and certificate lines the API's
    server has; `upstream`: an upstream's TLS, forwarded and cleared headers and timeouts
    by its name (files.py, upstream_lines)."""
    lines: list[str] = []
    headers = [f"    add_header {name} {value} always;" for name, value in HEADERS]
    for route in routes:
        lines += [
            "  server {",
            *tls,
            f"    server_name {route.host};",
            *headers,
            *(f"    allow {network};" for network in route.allow_from),
            "    deny all;",
            "    error_page 403 @forbidden;",
            "    location @forbidden {",
            *("  " + h for h in headers),
            '      return 403 \'{"error":"forbidden"}\';',
            "    }",
            "    error_page 429 @too_many;",
            "    location @too_many {",
            *("  " + h for h in headers),
            "      add_header Retry-After 1 always;",
            '      return 429 \'{"error":"too many requests"}\';',
            "    }",
            # At the server level, with every other proxy_set_header: nginx inherits the
            # list only into a block that sets none.
            *upstream(route.upstream_name),
            "    proxy_http_version 1.1;",
            "    proxy_set_header Upgrade $http_upgrade;",
            "    proxy_set_header Connection $vos_console_connection;",
            *(f"    proxy_hide_header {name};" for name in HIDDEN),
            "    location / {",
            f"      limit_req zone=per_client burst={burst} nodelay;",
            f'      set $vos_console "{route.upstream}";',
            "      proxy_pass https://$vos_console;",
            "    }",
            "  }",
        ]
    return lines
