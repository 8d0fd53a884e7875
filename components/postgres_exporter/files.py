"""postgres_exporter's settings, pure: how it reaches PostgreSQL and who may read it."""

from __future__ import annotations

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres.roles import DATABASE, MONITOR_ROLE
from components.prometheus.web_config import METRICS_CA, web_config

WEB_CONFIG = f"{CONFIG_DIR}/web.yml"
CLIENT_CERT = f"{TLS_DIR}/monitor.crt"
CLIENT_KEY = f"{TLS_DIR}/monitor.key"


def data_source(host: str = POSTGRES.dns_name, port: int = POSTGRES.tls_port) -> str:
    """DATA_SOURCE_NAME: TLS with full verification, the monitor role's certificate as its
    only credential (lib/pq reads sslcert/sslkey; no password is in it)."""
    return (
        f"postgresql://{MONITOR_ROLE}@{host}:{port}/{DATABASE}?sslmode=verify-full"
        f"&sslrootcert={TLS_DIR}/ca.crt&sslcert={CLIENT_CERT}&sslkey={CLIENT_KEY}"
    )


def exporter_web_config() -> str:
    """Only Prometheus's scrape identity (a certificate of the metrics CA) reads it."""
    return web_config(client_ca=METRICS_CA)
