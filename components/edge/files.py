"""The TLS edge's nginx.conf, pure: the only published entry to the API gateway.

TLS 1.2/1.3 only with forward-secret AEAD ciphers; no plaintext listener at all; HSTS and
security headers on every response (errors included); a request rate per client address,
and tighter ones per route (routes.py; 429 with a Retry-After that fits the rate); CORS for
the allowed origins only (cors.py); one JSON log line per request (access_log.py); a body
size limit (413); client and upstream timeouts; an
X-Request-ID passed through when well-formed, generated otherwise, and forwarded; the
upstream reached over TLS and verified against the platform CA with its own name;
server tokens off. The edge is the first proxy: it tells the gateway the client's address,
the scheme, host and port itself and drops every other identity header a client sends;
the upstream's copies of the security headers are hidden; a Host not in the allow-list
gets 421. Paths under CONFIG_DIR (read-only) and TMP (a tmpfs), so the container
can keep a read-only root filesystem. Proven on Debian nginx by tests/integration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.edge import access_log, consoles, cors, routes
from components.edge.consoles import ConsoleRoute
from stacks.edge_settings import CorsSettings, RouteLimit

CONF = f"{CONFIG_DIR}/nginx.conf"
HEALTH_PATH = "/.edge/health"
DOCKER_DNS = "127.0.0.11"
"""Docker's embedded DNS server on user-defined networks (Docker docs, "Networking
overview: DNS services")."""
TMP = "/tmp/nginx"  # noqa: S108 (a private tmpfs inside the container)
# Mozilla's "intermediate" TLS 1.2 suites (TLS 1.3 suites are always the safe ones).
CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
SECURITY_HEADERS = (
    ("Strict-Transport-Security", '"max-age=63072000; includeSubDomains"'),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "\"default-src 'none'; frame-ancestors 'none'\""),
    ("X-Request-ID", "$vos_request_id"),
)


FORWARDED_SET = (
    ("X-Forwarded-For", "$remote_addr"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "$host"),
    ("X-Forwarded-Port", "$server_port"),
)
"""What the edge, the first proxy, tells the gateway about the client: its own values, never
the client's (a client's X-Forwarded-For is replaced, not appended to)."""
IDENTITY_HEADERS_CLEARED = (
    "Forwarded",
    "X-Forwarded-Server",
    "X-Client-IP",
    "Client-IP",
    "True-Client-IP",
    "X-Cluster-Client-IP",
    "CF-Connecting-IP",
    "Fastly-Client-IP",
    "X-Original-Forwarded-For",
    "X-Originating-IP",
    "X-Remote-IP",
    "X-Remote-Addr",
    "X-Host",
    "X-Original-URL",
    "X-Rewrite-URL",
    "Proxy",  # httpoxy: a CGI-style app would take it as HTTP_PROXY
)
"""Other headers by which a client could claim an address, a host or a path: removed before
the gateway (an empty proxy_set_header value is not sent)."""


@dataclass(frozen=True)
class EdgeLimits:
    rate_per_second: int = 20
    """Sustained requests per second per client address."""
    burst: int = 40
    """Requests above the rate a client may send at once before 429."""
    body_mb: int = 8
    client_timeout_s: int = 15
    upstream_timeout_s: int = 60


def _headers(indent: str, cors_settings: CorsSettings | None) -> list[str]:
    # `add_header` in a block replaces every inherited one: each block that sets headers
    # repeats them all.
    return [
        f"{indent}add_header {name} {value} always;"
        for name, value in (*SECURITY_HEADERS, *cors.headers(cors_settings))
    ]


def _proxy(upstream_name: str, limits: EdgeLimits) -> list[str]:
    """How every proxying location reaches the gateway: over verified TLS, as the first
    proxy. At the server level, which the locations inherit (nginx inherits the
    proxy_set_header and proxy_hide_header lists only into a block that sets none)."""
    return [
        *upstream_lines(upstream_name, limits),
        "    # The edge's security and CORS headers only: the gateway's copies (a weaker HSTS",
        "    # first would win in a browser; a wider CORS list) are dropped.",
        *(f"    proxy_hide_header {name};" for name, _ in SECURITY_HEADERS),
        *(f"    proxy_hide_header {name};" for name in cors.HIDDEN_FROM_UPSTREAM),
    ]


def upstream_lines(upstream_name: str, limits: EdgeLimits) -> list[str]:
    """An upstream reached over TLS verified against the platform CA with its own name; the
    edge, the first proxy, says who the client is and drops every other claim of it."""
    return [
        "    proxy_ssl_verify on;",
        f"    proxy_ssl_trusted_certificate {TLS_DIR}/ca.crt;",
        f"    proxy_ssl_name {upstream_name};",
        "    proxy_ssl_server_name on;",
        "    proxy_ssl_verify_depth 2;",
        "    proxy_ssl_protocols TLSv1.2 TLSv1.3;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Request-ID $vos_request_id;",
        *(f"    proxy_set_header {name} {value};" for name, value in FORWARDED_SET),
        *(f'    proxy_set_header {name} "";' for name in IDENTITY_HEADERS_CLEARED),
        "    proxy_connect_timeout 5s;",
        f"    proxy_read_timeout {limits.upstream_timeout_s}s;",
        f"    proxy_send_timeout {limits.upstream_timeout_s}s;",
    ]


def _locations(
    upstream: str,
    limits: EdgeLimits,
    route_limits: Sequence[RouteLimit],
    cors_settings: CorsSettings | None,
) -> list[str]:
    """`/` with the overall limit per client, then each limited route (a longer prefix,
    which nginx prefers) with its own limit on top."""
    overall = f"limit_req zone=per_client burst={limits.burst} nodelay;"
    lines = []
    for path, extra in [("/", []), *((r.path, [r]) for r in route_limits)]:
        lines += [
            f"    location {path} {{",
            f"      {overall}",
            *(f"      {routes.limit(route_limits.index(r), r)}" for r in extra),
            *cors.preflight(cors_settings, "      "),
            f'      set $vos_gateway "{upstream}";',
            "      proxy_pass https://$vos_gateway;",
            "    }",
        ]
    return lines


def _tls(port: int, *listen: str) -> list[str]:
    """The listener and its TLS, the same for the API's server and each console's (the
    API's is the default server: a name no server has gets it, and its 421)."""
    return [
        f"    listen {' '.join([str(port), 'ssl', 'http2', *listen])};",
        f"    ssl_certificate {TLS_DIR}/server.crt;",
        f"    ssl_certificate_key {TLS_DIR}/server.key;",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        f"    ssl_ciphers {CIPHERS};",
        "    ssl_prefer_server_ciphers off;",
        "    ssl_session_tickets off;",
        "    ssl_session_cache shared:edge_tls:10m;",
    ]


def _real_ip(trusted_proxies: Sequence[str]) -> list[str]:
    if not trusted_proxies:
        return []
    return [
        "  # Behind load balancers: the client is the last address in X-Forwarded-For that",
        "  # none of them added ($remote_addr becomes it: the rate limit and the forwarded",
        "  # headers are the client's).",
        *(f"  set_real_ip_from {network};" for network in trusted_proxies),
        "  real_ip_header X-Forwarded-For;",
        "  real_ip_recursive on;",
    ]


def _known_hosts(hostnames: Sequence[str]) -> list[str]:
    # The container's own health check asks for 127.0.0.1.
    names = dict.fromkeys(["127.0.0.1", *hostnames])
    return [f'    "{name.lower()}" 1;' for name in names]


def nginx_conf(
    upstream: str,
    upstream_name: str,
    hostnames: Sequence[str],
    port: int = 8443,
    limits: EdgeLimits = EdgeLimits(),
    trusted_proxies: Sequence[str] = (),
    route_limits: Sequence[RouteLimit] = (),
    cors_settings: CorsSettings | None = None,
    console_routes: Sequence[ConsoleRoute] = (),
) -> str:
    """`upstream` is host:port of the gateway; `upstream_name` the name its certificate
    must carry; `hostnames` the names (and addresses) clients may ask for in Host;
    `trusted_proxies` the networks of load balancers in front of the edge (none: the
    edge's peer is the client); `route_limits` the path prefixes limited tighter;
    `cors_settings` the browser origins that may read answers (none: no CORS headers);
    `console_routes` the consoles served under names of their own (consoles.py)."""
    if not hostnames:
        raise ValueError("the edge needs at least one host name clients use")
    lines = [
        "# Rendered by vos-infra: the TLS edge. No plaintext listener.",
        "worker_processes auto;",
        f"pid {TMP}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        "  default_type application/json;",
        *access_log.http_lines(),
        f"  client_body_temp_path {TMP}/body;",
        f"  proxy_temp_path {TMP}/proxy;",
        f"  fastcgi_temp_path {TMP}/fastcgi;",
        f"  uwsgi_temp_path {TMP}/uwsgi;",
        f"  scgi_temp_path {TMP}/scgi;",
        f"  client_max_body_size {limits.body_mb}m;",
        f"  client_body_timeout {limits.client_timeout_s}s;",
        f"  client_header_timeout {limits.client_timeout_s}s;",
        f"  send_timeout {limits.client_timeout_s}s;",
        "  keepalive_timeout 30s;",
        "  limit_req_zone $binary_remote_addr zone=per_client:10m"
        f" rate={limits.rate_per_second}r/s;",
        "  limit_req_status 429;",
        *routes.http_lines(route_limits),
        "  # A caller's X-Request-ID is kept when it is a plain token; otherwise one is made.",
        "  map $http_x_request_id $vos_request_id {",
        '    "~^[A-Za-z0-9._-]{1,128}$" $http_x_request_id;',
        "    default $request_id;",
        "  }",
        "  # Host allow-list: another name (also in an absolute request URI, which sets",
        "  # $host) gets 421 Misdirected Request, never the gateway.",
        "  map $host $vos_known_host {",
        "    default 0;",
        *_known_hosts(hostnames),
        "  }",
        *_real_ip(trusted_proxies),
        *cors.http_maps(cors_settings),
        "  # The gateway's name is resolved per request through Docker's embedded DNS, not once",
        "  # at start: a replaced gateway container (a new address) is found again.",
        f"  resolver {DOCKER_DNS} valid=10s ipv6=off;",
        *consoles.http_lines(console_routes),
        "  server {",
        *_tls(port, "default_server"),
        *_headers("    ", cors_settings),
        "    if ($vos_known_host = 0) {",
        '      return 421 \'{"error":"unknown host"}\';',
        "    }",
        "    error_page 429 @too_many;",
        "    location @too_many {",
        *_headers("      ", cors_settings),
        "      add_header Retry-After $vos_retry_after always;",
        '      return 429 \'{"error":"too many requests"}\';',
        "    }",
        "    # The container's own liveness check (the gateway's health is the gateway's).",
        f"    location = {HEALTH_PATH} {{",
        "      access_log off;",
        '      return 200 \'{"status":"ok"}\';',
        "    }",
        *_proxy(upstream_name, limits),
        *_locations(upstream, limits, route_limits, cors_settings),
        "  }",
        *consoles.servers(
            console_routes, _tls(port), lambda name: upstream_lines(name, limits), limits.burst
        ),
        "}",
    ]
    return "\n".join(lines) + "\n"
