"""The Loki gate's nginx.conf, pure. Loki has no authorization of its own (one tenant, no
users); the gate gives each caller exactly one right, by the certificate it presents:

- Alloy (platform CA, CN alloy): push logs, nothing else;
- Grafana's reader (readers CA, CN grafana): GET on query, labels, series, tail; never
  push, delete or the ruler's API;
- Prometheus's scrape identity (metrics CA, CN prometheus): /metrics;
- any other certificate of these CAs: 403; none: 400, nothing passed on.

The store is reached over TLS, verified for Loki's name, with the gate's own certificate,
resolved per request through Docker's DNS (a replaced store is found again). Proven on
Debian's nginx by tests/integration/test_loki_gate.py."""

from __future__ import annotations

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.edge.files import CIPHERS, DOCKER_DNS, TMP
from components.loki.definition import DEFINITION

CONF = f"{CONFIG_DIR}/gate.conf"
CLIENT_CAS = f"{TLS_DIR}/clients-ca.crt"
"""The platform, metrics and readers CAs, one after the other: whom the gate will talk to."""
GATE_CERT = f"{TLS_DIR}/gate.crt"
GATE_KEY = f"{TLS_DIR}/gate.key"
HEALTH_PATH = "/.gate/health"
PUSH_PATHS = ("/loki/api/v1/push", "/otlp/v1/logs")
# Who is who: (issuer CA's common name, subject common name) -> role.
WRITER, READER, SCRAPER = "writer", "reader", "scraper"


def _cn(value: str) -> str:
    """A regex for `CN=<value>` as one RDN of nginx's RFC 2253 distinguished names."""
    return f'"~(^|,)CN={value}(,|$)"'


def gate_conf(
    upstream: str,
    platform_ca: str,
    metrics_ca: str,
    readers_ca: str,
    port: int = DEFINITION.tls_port,
) -> str:
    """`upstream`: host:port of the store; the CAs' common names (their certificates are in
    CLIENT_CAS)."""
    proxy = [
        f'      set $vos_store "{upstream}";',
        "      proxy_pass https://$vos_store;",
        "      proxy_ssl_verify on;",
        f"      proxy_ssl_trusted_certificate {TLS_DIR}/ca.crt;",
        f"      proxy_ssl_name {DEFINITION.dns_name};",
        "      proxy_ssl_server_name on;",
        f"      proxy_ssl_certificate {GATE_CERT};",
        f"      proxy_ssl_certificate_key {GATE_KEY};",
        "      proxy_ssl_protocols TLSv1.2 TLSv1.3;",
        "      proxy_http_version 1.1;",
        "      proxy_set_header Upgrade $http_upgrade;",
        "      proxy_set_header Connection $vos_connection;",
        "      proxy_read_timeout 300s;",
    ]

    def only(role: str) -> list[str]:
        return [f"      if ($vos_role != {role}) {{ return 403; }}", *proxy]

    lines = [
        "# Rendered by vos-infra: the Loki gate. No plaintext listener.",
        "worker_processes 1;",
        f"pid {TMP}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 512; }",
        "http {",
        "  server_tokens off;",
        "  access_log /dev/stdout;",
        f"  client_body_temp_path {TMP}/body;",
        f"  proxy_temp_path {TMP}/proxy;",
        f"  fastcgi_temp_path {TMP}/fastcgi;",
        f"  uwsgi_temp_path {TMP}/uwsgi;",
        f"  scgi_temp_path {TMP}/scgi;",
        "  client_max_body_size 16m;",
        f"  resolver {DOCKER_DNS} valid=10s ipv6=off;",
        "  map $ssl_client_i_dn $vos_issuer {",
        f"    {_cn(metrics_ca)} metrics;",
        f"    {_cn(readers_ca)} readers;",
        f"    {_cn(platform_ca)} platform;",
        "    default none;",
        "  }",
        "  map $ssl_client_s_dn $vos_subject {",
        f"    {_cn('alloy')} alloy;",
        f"    {_cn('grafana')} grafana;",
        f"    {_cn('prometheus')} prometheus;",
        "    default none;",
        "  }",
        '  map "$vos_issuer:$vos_subject" $vos_role {',
        f'    "platform:alloy" {WRITER};',
        f'    "readers:grafana" {READER};',
        f'    "metrics:prometheus" {SCRAPER};',
        "    default none;",
        "  }",
        "  map $http_upgrade $vos_connection { default upgrade; '' close; }",
        "  server {",
        f"    listen {port} ssl;",
        f"    ssl_certificate {TLS_DIR}/server.crt;",
        f"    ssl_certificate_key {TLS_DIR}/server.key;",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        f"    ssl_ciphers {CIPHERS};",
        "    ssl_session_tickets off;",
        f"    ssl_client_certificate {CLIENT_CAS};",
        "    ssl_verify_client on;",
        "    ssl_verify_depth 1;",
        f"    location = {HEALTH_PATH} {{ access_log off; return 200 'ok'; }}",
        *(
            line
            for path in PUSH_PATHS
            for line in [f"    location = {path} {{", *only(WRITER), "    }"]
        ),
        # Never through the gate: deleting logs, and the ruler's API (writes rules).
        "    location /loki/api/v1/delete { return 403; }",
        "    location /loki/api/v1/rules { return 403; }",
        "    location /loki/api/v1/ {",
        # Reading is GET (queries, labels, series, the tail's websocket).
        "      limit_except GET { deny all; }",
        *only(READER),
        "    }",
        "    location = /metrics {",
        *only(SCRAPER),
        "    }",
        "    location / { return 403; }",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"
