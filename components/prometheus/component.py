"""Prometheus: TLS and basic auth on its own endpoint, every scrape over verified TLS, the
alert rules of monitoring/prometheus/rules."""

from __future__ import annotations

from functools import partial
from typing import Any

from components.alertmanager.definition import DEFINITION as ALERTMANAGER
from components.alloy.definition import DEFINITION as ALLOY
from components.app.contract import METRICS_PORT
from components.app.inputs import apps
from components.blackbox_exporter.definition import DEFINITION as BLACKBOX
from components.blackbox_exporter.files import tls_endpoints
from components.grafana.definition import DEFINITION as GRAFANA
from components.loki.definition import DEFINITION as LOKI
from components.off_loop import off_loop
from components.postgres_backup.definition import DEFINITION as POSTGRES_BACKUP
from components.postgres_exporter.definition import DEFINITION as POSTGRES_EXPORTER
from components.prometheus import files
from components.prometheus.containers import retention_flags, server_spec
from components.prometheus.definition import DEFINITION
from components.prometheus.web_config import login_web_config
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.service import Deployed, ServiceArgs, ServiceComponent
from stacks import Settings

EXPORTERS = (POSTGRES_EXPORTER, BLACKBOX, LOKI, ALLOY, POSTGRES_BACKUP)
"""Scraped with the scrape identity when they run: the exporters, Loki (its gate serves
/metrics to that identity only), Alloy (the counts it takes from logs, e.g. the egress
proxy's refusals) and the backup service (what Barman did)."""


def scrape_plan(settings: Settings) -> files.ScrapePlan:
    """Who is scraped, from the registry and the apps: itself, RabbitMQ's metrics endpoint,
    the exporters and Alertmanager when they run, every app's metrics endpoint (the app
    contract), and through the blackbox exporter every TLS endpoint it can probe."""
    targets = {DEFINITION.dns_name: f"{DEFINITION.dns_name}:{DEFINITION.tls_port}"}
    if settings.is_enabled(RABBITMQ.key):
        targets[RABBITMQ.dns_name] = f"{RABBITMQ.dns_name}:{RABBITMQ.metrics_port}"
    exporters = tuple(d for d in EXPORTERS if settings.is_enabled(d.key))
    alertmanager = settings.is_enabled(ALERTMANAGER.key)
    grafana = settings.is_enabled(GRAFANA.key)
    web = [d for d, on in ((ALERTMANAGER, alertmanager), (GRAFANA, grafana)) if on]
    for d in (*exporters, *web):
        targets[d.dns_name] = f"{d.dns_name}:{d.tls_port}"
    found = tuple(app.dns_name for app in apps(settings))
    targets |= {name: f"{name}:{METRICS_PORT}" for name in found}
    probing = settings.is_enabled(BLACKBOX.key)
    return files.ScrapePlan(
        targets=targets,
        exporters=tuple(d.dns_name for d in exporters),
        apps=found,
        probes=tls_endpoints(settings) if probing else (),
        alertmanager=alertmanager,
        grafana=grafana,
        every_task=settings.target == "swarm",
    )


class Prometheus(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Prometheus"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        values = args.credentials.values
        password = values[DEFINITION.own("admin-password")]
        scraper = args.pki.certificates[DEFINITION.client_certificate("prometheus-scraper").name]
        plan = scrape_plan(args.settings)
        secrets = {}
        if plan.alertmanager:
            secrets[files.ALERTMANAGER_PASSWORD_FILE] = values[ALERTMANAGER.own("admin-password")]
        if plan.grafana:
            secrets[files.GRAFANA_PASSWORD_FILE] = values[GRAFANA.own("metrics-password")]
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                files.prometheus_yml(plan),
                password.apply(partial(off_loop, login_web_config, files.ADMIN)),
                password,
                self.tls,
                scraper.cert_pem,
                scraper.private_key_pem,
                retention_flags(
                    args.settings.retention.prometheus.days, args.settings.retention.prometheus.gib
                ),
                secrets,
            ),
        )
        return {}
