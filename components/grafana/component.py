"""Grafana: HTTPS, logins only, datasources with fixed uids over verified TLS, and the
dashboards generated from code."""

from __future__ import annotations

from typing import Any

import pulumi

from components.alertmanager.definition import DEFINITION as ALERTMANAGER
from components.alertmanager.files import ADMIN as ALERTMANAGER_ADMIN
from components.app.containers import sidecar_name
from components.app.inputs import apps
from components.edge.definition import DEFINITION as EDGE
from components.grafana import settings_ini as ini
from components.grafana.containers import server_spec
from components.grafana.dashboards import all_dashboards
from components.grafana.datasources import (
    ALERTMANAGER_UID,
    JAEGER_UID,
    LOKI_UID,
    PROMETHEUS_UID,
    Datasource,
    datasources_yml,
    loki_json_data,
)
from components.grafana.definition import DEFINITION
from components.jaeger.definition import DEFINITION as JAEGER
from components.loki.definition import DEFINITION as LOKI
from components.loki.files import STORE_NAME as LOKI_STORE
from components.prometheus.definition import DEFINITION as PROMETHEUS
from components.prometheus.files import ADMIN as PROMETHEUS_ADMIN
from components.service import Deployed, ServiceArgs, ServiceComponent
from stacks import Settings


def root(settings: Settings) -> tuple[str, int]:
    """The name and port users reach Grafana by (its root URL and cookies): the edge's name
    for it and the edge's port when the edge serves it (edge.consoles); else its public
    name, or localhost where it is published with localhost names (dev), on its own port;
    else its network name."""
    console = settings.edge.consoles.get(DEFINITION.key)
    if console is not None:
        return console.host, settings.network.published_ports.get(EDGE.key) or 443
    if settings.is_published(DEFINITION.key):
        if settings.network.public_names:
            return settings.network.public_names[0], DEFINITION.tls_port
        if settings.tls.localhost_sans:
            return "localhost", DEFINITION.tls_port
    return DEFINITION.dns_name, DEFINITION.tls_port


def logged_services(settings: Settings) -> list[str]:
    """The `service` label values Alloy gives the stack's containers (their vos.service)."""
    names = [d.dns_name for d in settings.enabled_services() if d.component]
    names += [app.dns_name for app in apps(settings)]
    names += [sidecar_name(app) for app in apps(settings)]
    return sorted({*names, LOKI_STORE})


def _url(service: str, port: int) -> str:
    return f"https://{service}:{port}"


class Grafana(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Grafana"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        settings, values = args.settings, args.credentials.values
        alerting = settings.is_enabled(ALERTMANAGER.key)
        tracing = settings.is_enabled(JAEGER.key)
        logging = settings.is_enabled(LOKI.key)
        reader = args.pki.certificates[DEFINITION.client_certificate("grafana-reader").name]
        passwords = [values[PROMETHEUS.own("admin-password")]]
        if alerting:
            passwords.append(values[ALERTMANAGER.own("admin-password")])

        def render(resolved: list[str]) -> str:
            ca, reader_cert, reader_key, prometheus, *rest = resolved
            sources = [
                Datasource(
                    PROMETHEUS_UID,
                    "Prometheus",
                    "prometheus",
                    _url(PROMETHEUS.dns_name, PROMETHEUS.tls_port),
                    PROMETHEUS.dns_name,
                    basic_auth=(PROMETHEUS_ADMIN, prometheus),
                    json_data={"httpMethod": "POST", "timeInterval": "15s"},
                    default=True,
                )
            ]
            if alerting:
                sources.append(
                    Datasource(
                        ALERTMANAGER_UID,
                        "Alertmanager",
                        "alertmanager",
                        _url(ALERTMANAGER.dns_name, ALERTMANAGER.tls_port),
                        ALERTMANAGER.dns_name,
                        basic_auth=(ALERTMANAGER_ADMIN, rest[0]),
                        json_data={"implementation": "prometheus"},
                    )
                )
            if logging:
                sources.append(
                    Datasource(
                        LOKI_UID,
                        "Loki",
                        "loki",
                        _url(LOKI.dns_name, LOKI.tls_port),
                        LOKI.dns_name,
                        client_certificate=(reader_cert, reader_key),
                        json_data=loki_json_data(tracing),
                    )
                )
            if tracing:
                sources.append(
                    Datasource(
                        JAEGER_UID,
                        "Jaeger",
                        "jaeger",
                        _url(JAEGER.dns_name, JAEGER.tls_port),
                        JAEGER.dns_name,
                        client_certificate=(reader_cert, reader_key),
                    )
                )
            return datasources_yml(sources, ca)

        # A secret upload: the carrier keeps it secret in the state.
        datasources = pulumi.Output.all(
            args.pki.ca_cert_pem, reader.cert_pem, reader.private_key_pem, *passwords
        ).apply(render)
        traced = [app.dns_name for app in apps(settings)] if tracing else None
        logs_from = logged_services(settings) if logging else None
        self.server = self.container(
            "server",
            server_spec(
                self.service.image_reference,
                root(settings),
                datasources,
                all_dashboards(logs_from=logs_from, traced=traced),
                {
                    ini.ADMIN_PASSWORD: values[DEFINITION.own("admin-password")],
                    ini.SECRET_KEY: values[DEFINITION.own("secret-key")],
                    ini.METRICS_PASSWORD: values[DEFINITION.own("metrics-password")],
                },
                self.tls,
            ),
        )
        return {}
