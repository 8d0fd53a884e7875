"""Prometheus's files, pure: the web config (TLS and basic auth on its own endpoint) and
prometheus.yml (every scrape over verified TLS).

Kept to what both Prometheus 2.42 (Debian, where the tests run it) and 3.x (the profiles'
image) accept: `web.config.file` keys of the exporter-toolkit, and scrape `tls_config`,
`basic_auth.password_file`, `params`, `scheme`, all unchanged between them (checked against
the Prometheus 2.42 and 3.x configuration docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.alertmanager.definition import DEFINITION as ALERTMANAGER
from components.blackbox_exporter.definition import DEFINITION as BLACKBOX
from components.blackbox_exporter.files import MODULE as BLACKBOX_MODULE
from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.grafana.definition import DEFINITION as GRAFANA
from components.grafana.settings_ini import METRICS_USER as GRAFANA_METRICS_USER
from components.prometheus.definition import DEFINITION
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.yaml_document import yaml_text

CONFIG = f"{CONFIG_DIR}/prometheus.yml"
WEB_CONFIG = f"{CONFIG_DIR}/web.yml"
RULES_DIR = f"{CONFIG_DIR}/rules"
"""Where the container gets monitoring/prometheus/rules/*.yml."""
RULES_SOURCE = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"
HEALTH_CONFIG = f"{CONFIG_DIR}/health.yml"
DATA = "/prometheus"
"""The official image's data folder (its VOLUME)."""
PASSWORD_FILE = f"{CONFIG_DIR}/secrets/admin-password"
ALERTMANAGER_PASSWORD_FILE = f"{CONFIG_DIR}/secrets/alertmanager-password"
GRAFANA_PASSWORD_FILE = f"{CONFIG_DIR}/secrets/grafana-metrics-password"
SCRAPER_CERT = f"{TLS_DIR}/scraper.crt"
SCRAPER_KEY = f"{TLS_DIR}/scraper.key"
ADMIN = "admin"
# Per-queue series (with `queue` labels) come only from the detailed endpoint's families.
RABBITMQ_FAMILIES = ["queue_coarse_metrics", "queue_consumer_count"]


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
    return yaml_text(
        {
            "basic_auth": {"username": ADMIN, "password_file": PASSWORD_FILE},
            "tls_config": _tls(DEFINITION.dns_name, client_cert=False),
        }
    )


def rule_files(folder: Path = RULES_SOURCE) -> dict[str, str]:
    """File name -> content of the alert rules the container gets (monitoring/)."""
    return {path.name: path.read_text() for path in sorted(folder.glob("*.yml"))}


@dataclass(frozen=True)
class ScrapePlan:
    """Who Prometheus scrapes and where it sends alerts (from the registry and the apps)."""

    targets: dict[str, str]
    """DNS name -> host:port to dial (on Docker, the name and the port)."""
    exporters: tuple[str, ...] = ()
    """Exporters' DNS names, scraped with the scrape identity (their only accepted client)."""
    apps: tuple[str, ...] = ()
    """The VOS apps' DNS names, each scraped on its metrics endpoint (the app contract) as a
    job of its own: `server_name` is per job, and each app's certificate has its own name."""
    probes: tuple[str, ...] = ()
    """`name:port` TLS endpoints the blackbox exporter probes (its `target` parameter)."""
    alertmanager: bool = False
    """Send alerts to Alertmanager (and scrape it), with its password."""
    grafana: bool = False
    """Scrape Grafana's /metrics, with the password Grafana gives Prometheus."""
    every_task: bool = False
    """On a Swarm: find each app's tasks by DNS (`tasks.<name>`, one address per running
    task) instead of dialling its name, which answers one task at a time."""


def _job(
    name: str, server: str, client_cert: bool, target: str, **more: object
) -> dict[str, object]:
    return {
        "job_name": name,
        "scheme": "https",
        "tls_config": _tls(server, client_cert=client_cert),
        **more,
        "static_configs": [{"targets": [target]}],
    }


def _tasks_job(app: str, target: str) -> dict[str, object]:
    """Every task of a replicated app: Swarm's DNS answers `tasks.<alias>` with the address
    of each of its running tasks (moby libnetwork service_common.go,
    addEndpointNameResolution: every service alias gets a `tasks.` record per task), so each
    is a target of its own (its `instance` the task's address) while TLS still verifies the
    app's name."""
    port = int(target.rsplit(":", 1)[1])
    return {
        "job_name": app,
        "scheme": "https",
        "tls_config": _tls(app, client_cert=True),
        "dns_sd_configs": [
            {"names": [f"tasks.{app}"], "type": "A", "port": port, "refresh_interval": "15s"}
        ],
    }


def _blackbox_job(plan: ScrapePlan) -> dict[str, object]:
    """Each probed endpoint becomes the exporter's `target` parameter and the series'
    `instance`; the scrape itself goes to the exporter (the usual blackbox relabelling)."""
    return {
        "job_name": "blackbox",
        "scheme": "https",
        "metrics_path": "/probe",
        "params": {"module": [BLACKBOX_MODULE]},
        "tls_config": _tls(BLACKBOX.dns_name, client_cert=True),
        "static_configs": [{"targets": list(plan.probes)}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": plan.targets[BLACKBOX.dns_name]},
        ],
    }


def _alertmanager(job: str | None, address: str) -> dict[str, object]:
    """Alertmanager's endpoint as a scrape job (`job`) or as where alerts go (None): TLS
    verified for its name, basic auth with its password. A fresh dict each time (a shared
    one would come out as YAML anchors)."""
    return {
        **({"job_name": job} if job else {}),
        "scheme": "https",
        "tls_config": _tls(ALERTMANAGER.dns_name, client_cert=False),
        "basic_auth": {"username": ADMIN, "password_file": ALERTMANAGER_PASSWORD_FILE},
        "static_configs": [{"targets": [address]}],
    }


def prometheus_yml(plan: ScrapePlan, interval_s: int = 15) -> str:
    targets = plan.targets
    admin = {"username": ADMIN, "password_file": PASSWORD_FILE}
    jobs = [
        _job(
            "prometheus", DEFINITION.dns_name, False, targets[DEFINITION.dns_name], basic_auth=admin
        )
    ]
    if RABBITMQ.dns_name in targets:
        # Two endpoints: /metrics (node-wide: alarms, process, ...) and /metrics/detailed,
        # which returns only the families asked for (per-queue series). Both with the scrape
        # identity of the metrics CA: the only one the endpoint accepts.
        address = targets[RABBITMQ.dns_name]
        jobs.append(_job("rabbitmq", RABBITMQ.dns_name, True, address))
        jobs.append(
            _job(
                "rabbitmq-queues",
                RABBITMQ.dns_name,
                True,
                address,
                metrics_path="/metrics/detailed",
                params={"family": RABBITMQ_FAMILIES},
            )
        )
    jobs += [_job(name, name, True, targets[name]) for name in plan.exporters]
    if plan.probes and BLACKBOX.dns_name in plan.exporters:
        jobs.append(_blackbox_job(plan))
    alerting: dict[str, object] = {}
    if plan.alertmanager:
        address = targets[ALERTMANAGER.dns_name]
        jobs.append(_alertmanager("alertmanager", address))
        alerting = {"alerting": {"alertmanagers": [_alertmanager(None, address)]}}
    if plan.grafana:
        jobs.append(
            _job(
                "grafana",
                GRAFANA.dns_name,
                False,
                targets[GRAFANA.dns_name],
                basic_auth={
                    "username": GRAFANA_METRICS_USER,
                    "password_file": GRAFANA_PASSWORD_FILE,
                },
            )
        )
    jobs += [
        _tasks_job(app, targets[app]) if plan.every_task else _job(app, app, True, targets[app])
        for app in plan.apps
    ]
    return yaml_text(
        {
            "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": "15s"},
            "rule_files": [f"{RULES_DIR}/*.yml"],
            **alerting,
            "scrape_configs": jobs,
        }
    )
