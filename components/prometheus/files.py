"""Prometheus's files, pure: the web config (TLS and basic auth on its own endpoint) and
prometheus.yml (every scrape over verified TLS).

Kept to what both Prometheus 2.42 (Debian, where the tests run it) and 3.x (the profiles'
image) accept: `web.config.file` keys of the exporter-toolkit, and scrape `tls_config`,
`basic_auth.password_file`, `params`, `scheme`, all unchanged between them (checked against
the Prometheus 2.42 and 3.x configuration docs).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.prometheus.definition import DEFINITION
from components.rabbitmq.definition import DEFINITION as RABBITMQ

CONFIG = f"{CONFIG_DIR}/prometheus.yml"
WEB_CONFIG = f"{CONFIG_DIR}/web.yml"
RULES_DIR = f"{CONFIG_DIR}/rules"
"""Where the container gets monitoring/prometheus/rules/*.yml."""
RULES_SOURCE = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"
HEALTH_CONFIG = f"{CONFIG_DIR}/health.yml"
DATA = "/prometheus"
"""The official image's data folder (its VOLUME)."""
PASSWORD_FILE = f"{CONFIG_DIR}/secrets/admin-password"
SCRAPER_CERT = f"{TLS_DIR}/scraper.crt"
SCRAPER_KEY = f"{TLS_DIR}/scraper.key"
ADMIN = "admin"
# Per-queue series (with `queue` labels) come only from the detailed endpoint's families.
RABBITMQ_FAMILIES = ["queue_coarse_metrics", "queue_consumer_count"]


def web_config(admin_hash: str) -> str:
    return yaml.safe_dump(
        {
            "tls_server_config": {
                "cert_file": f"{TLS_DIR}/server.crt",
                "key_file": f"{TLS_DIR}/server.key",
                "min_version": "TLS12",
            },
            "basic_auth_users": {ADMIN: admin_hash},
        },
        sort_keys=False,
    )


def _tls(server_name: str, client_cert: bool) -> dict[str, object]:
    config: dict[str, object] = {
        "ca_file": f"{TLS_DIR}/ca.crt",
        "server_name": server_name,
        "min_version": "TLS12",
        "insecure_skip_verify": False,
    }
    if client_cert:
        config |= {"cert_file": SCRAPER_CERT, "key_file": SCRAPER_KEY}
    return config


def health_client_config() -> str:
    """How the container's healthcheck (`promtool check healthy`) reaches Prometheus's own
    endpoint: the admin's password file, TLS verified against the platform CA by name."""
    return yaml.safe_dump(
        {
            "basic_auth": {"username": ADMIN, "password_file": PASSWORD_FILE},
            "tls_config": _tls(DEFINITION.dns_name, client_cert=False),
        },
        sort_keys=False,
    )


def rule_files(folder: Path = RULES_SOURCE) -> dict[str, str]:
    """File name -> content of the alert rules the container gets (monitoring/)."""
    return {path.name: path.read_text() for path in sorted(folder.glob("*.yml"))}


def prometheus_yml(
    targets: dict[str, str], interval_s: int = 15, apps: tuple[str, ...] = ()
) -> str:
    """`targets`: DNS name -> host:port to dial (on Docker, the name and the port).
    `apps`: the VOS apps' DNS names, each scraped on its metrics endpoint (the app
    contract) as a job of its own: `server_name` is per job, and each app's certificate
    carries its own name."""
    jobs: list[dict[str, object]] = [
        {
            "job_name": "prometheus",
            "scheme": "https",
            "tls_config": _tls(DEFINITION.dns_name, client_cert=False),
            "basic_auth": {"username": ADMIN, "password_file": PASSWORD_FILE},
            "static_configs": [{"targets": [targets[DEFINITION.dns_name]]}],
        }
    ]
    if RABBITMQ.dns_name in targets:
        # Two endpoints: /metrics (node-wide: alarms, process, ...) and /metrics/detailed,
        # which returns only the families asked for (per-queue series). Both with the scrape
        # identity of the metrics CA: the only one the endpoint accepts.
        rabbitmq = {
            "scheme": "https",
            "tls_config": _tls(RABBITMQ.dns_name, client_cert=True),
            "static_configs": [{"targets": [targets[RABBITMQ.dns_name]]}],
        }
        jobs.append({"job_name": "rabbitmq", **rabbitmq})
        jobs.append(
            {
                "job_name": "rabbitmq-queues",
                "metrics_path": "/metrics/detailed",
                "params": {"family": RABBITMQ_FAMILIES},
                **rabbitmq,
            }
        )
    jobs += [
        {
            "job_name": app,
            "scheme": "https",
            "tls_config": _tls(app, client_cert=True),
            "static_configs": [{"targets": [targets[app]]}],
        }
        for app in apps
    ]
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": "15s"},
            "rule_files": [f"{RULES_DIR}/*.yml"],
            "scrape_configs": jobs,
        },
        sort_keys=False,
    )
