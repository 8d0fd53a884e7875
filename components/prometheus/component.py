"""Prometheus: TLS and basic auth on its own endpoint, every scrape over verified TLS, the
alert rules of monitoring/prometheus/rules."""

from __future__ import annotations

from typing import Any

import pulumi_docker as docker

from components.app.contract import METRICS_PORT
from components.app.inputs import apps
from components.prometheus import files
from components.prometheus.containers import server_spec
from components.prometheus.definition import DEFINITION
from components.prometheus.web_password import web_password_hash
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.service import ServiceArgs, ServiceComponent
from infra.settings import Settings


def scrape_targets(settings: Settings) -> tuple[dict[str, str], tuple[str, ...]]:
    """Who is scraped, from the registry and the apps: itself, RabbitMQ's metrics endpoint
    when it runs, and every app's metrics endpoint (the app contract)."""
    targets = {DEFINITION.dns_name: f"{DEFINITION.dns_name}:{DEFINITION.tls_port}"}
    if settings.is_enabled(RABBITMQ.key):
        targets[RABBITMQ.dns_name] = f"{RABBITMQ.dns_name}:{RABBITMQ.metrics_port}"
    found = tuple(app.dns_name for app in apps(settings))
    targets |= {name: f"{name}:{METRICS_PORT}" for name in found}
    return targets, found


class Prometheus(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Prometheus"

    server: docker.Container

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        password = args.credentials.values[DEFINITION.own("admin-password")]
        scraper = args.pki.certificates[DEFINITION.client_certificate("prometheus-scraper").name]
        targets, scraped_apps = scrape_targets(args.settings)
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                files.prometheus_yml(targets, apps=scraped_apps),
                password.apply(lambda p: files.web_config(web_password_hash(p, files.ADMIN))),
                password,
                self.tls,
                scraper.cert_pem,
                scraper.private_key_pem,
            ),
        )
        return {}
