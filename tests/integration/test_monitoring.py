"""The monitoring half on real servers, each started from what its container receives
(tests/integration/rendered_server.py says what is remapped: paths, ports, never names):
Debian's Prometheus 2.42, Alertmanager 0.25, postgres_exporter 0.11 and blackbox exporter
0.23, with a real RabbitMQ 3.10 and PostgreSQL 15 (its role job run, so the monitor role
exists). The gateway and agents do not run here (their scrape jobs are proven on the
Docker tier): their jobs must be down here, and every other target up.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
import yaml
from cryptography import x509

from components.grafana.settings_ini import PROVISIONING as GRAFANA_PROVISIONING
from stacks.retention_settings import PrometheusRetention
from tests.integration.monitoring_stack import (
    RULES,
    RUNNING_JOBS,
    Stack,
    monitoring_stack,
    wait_for,
)
from tests.integration.tls_probe import AEAD, CBC_ONLY, handshake, tls12_cipher
from tests.promql import metric_names
from tools.offline.runner import Evaluation

PROVES = ("prometheus", "alertmanager", "postgres_exporter", "blackbox_exporter")
"""Packages whose containers this module runs on real servers (tests/program/test_registry.py)."""


@pytest.fixture(scope="module")
def stack(dev: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with monitoring_stack(dev, tmp_path_factory.mktemp("monitoring-clients")) as running:
        yield running


def _up(stack: Stack) -> dict[str, str]:
    return {r["metric"]["job"]: r["value"][1] for r in stack.query("up")}


def test_every_running_target_is_up_over_verified_tls(stack: Stack) -> None:
    # Targets come from the registry and the apps: the apps' jobs exist and are down here,
    # and Grafana's, Loki's and Alloy's (no binary here: tests/docker/images.py NO_STAND_IN).
    down = {"api-gateway", "primary-agent", "weather-agent", "grafana", "loki", "alloy"}

    def settled() -> bool:
        up = _up(stack)
        return set(up) == RUNNING_JOBS | down and all(up[job] == "1" for job in RUNNING_JOBS)

    # Each target's first scrape comes within one interval.
    assert wait_for(settled, timeout=60), _up(stack)
    up = _up(stack)
    assert {job for job, value in up.items() if value == "0"} == down
    auth = ("admin", stack.password("prometheus"))
    targets = stack.get("prometheus", "/api/v1/targets", auth=auth).json()["data"]["activeTargets"]
    assert {t["scrapeUrl"].split(":")[0] for t in targets} == {"https"}
    # The detailed endpoint's per-queue series carry the queue's name.
    series = stack.query("rabbitmq_detailed_queue_consumers")
    assert series and all("queue" in s["metric"] for s in series)


def _unscraped(stack: Stack, names: set[str]) -> set[str]:
    """The metric names of which the real Prometheus holds no series."""
    auth = ("admin", stack.password("prometheus"))
    return {
        name
        for name in names
        if not stack.get("prometheus", "/api/v1/series", auth=auth, **{"match[]": name}).json()[
            "data"
        ]
    }


def _probe(stack: Stack, metric: str) -> dict[str, str]:
    back = {f"{a.rpartition(':')[0]}:{p}": a for a, p in stack.ports.items()}
    return {
        back.get(r["metric"]["instance"], r["metric"]["instance"]): r["value"][1]
        for r in stack.query(metric)
    }


def test_the_blackbox_probes_every_tls_endpoint_by_its_name(stack: Stack) -> None:
    expected_up = {"rabbitmq:5671", "prometheus:9090", "alertmanager:9093"}
    # Rendered from the registry and the apps (PostgreSQL and the exporters excluded).
    endpoints = {
        "rabbitmq:5671",
        "weaviate:8443",
        "api-gateway:8443",
        "edge:8443",
        "prometheus:9090",
        "alertmanager:9093",
        "grafana:3000",
        "primary-agent:8443",
        "weather-agent:8443",
    }

    def settled() -> bool:
        found = _probe(stack, "probe_success")
        return set(found) == endpoints and all(found[e] == "1" for e in expected_up)

    assert wait_for(settled), _probe(stack, "probe_success")
    success = _probe(stack, "probe_success")
    # Controls: our CA's certificate for another name, and a certificate of another CA.
    assert success["weaviate:8443"] == "0" and success["edge:8443"] == "0"
    expiry = _probe(stack, "probe_ssl_earliest_cert_expiry")
    rabbitmq_cert = stack.pem("pki-rabbitmq-cert", "certPem")
    not_after = x509.load_pem_x509_certificate(rabbitmq_cert.encode()).not_valid_after_utc
    assert float(expiry["rabbitmq:5671"]) == not_after.timestamp()
    versions = {
        r["metric"]["version"]
        for r in stack.query('probe_tls_version_info{instance=~"prometheus:.*"}')
    }
    assert versions == {"TLS 1.3"}


def test_postgres_is_read_through_the_exporter_as_the_monitor_role(stack: Stack) -> None:
    assert wait_for(lambda: [r for r in stack.query("pg_up") if r["value"][1] == "1"])
    # The exporter's own session, read as pg_monitor (database vos, the DSN's).
    assert wait_for(
        lambda: stack.query('pg_stat_activity_count{datname="vos",state="active"} >= 1')
    )
    assert stack.query("pg_settings_max_connections")[0]["value"][1] == "200"


@pytest.mark.parametrize("service", ["postgres-exporter", "blackbox-exporter"])
def test_exporters_answer_only_the_scrape_identity(stack: Stack, service: str) -> None:
    assert stack.get(service, "/metrics", cert="prometheus-scraper").status == 200
    # Another identity of the platform CA (the role job's admin certificate), and none.
    for cert in ("postgres-admin", None):
        with pytest.raises(urllib3.exceptions.HTTPError):
            stack.get(service, "/metrics", cert=cert)


@pytest.mark.parametrize("service", ["prometheus", "alertmanager"])
def test_web_endpoints_demand_the_password_and_tls_1_2(stack: Stack, service: str) -> None:
    path = "/api/v2/status" if service == "alertmanager" else "/api/v1/status/buildinfo"
    password = stack.password(service)
    assert stack.get(service, path, auth=("admin", password)).status == 200
    assert stack.get(service, path).status == 401
    assert stack.get(service, path, auth=("admin", password + "x")).status == 401
    assert stack.get(service, path, auth=("root", password)).status == 401
    port = stack.servers[service].port
    assert handshake(port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(port, ssl.TLSVersion.TLSv1_1)
    # TLS 1.2 with AEAD suites only: a client that offers nothing but CBC gets no handshake
    assert "GCM" in tls12_cipher(port, AEAD)
    with pytest.raises((ssl.SSLError, OSError)):
        tls12_cipher(port, CBC_ONLY)
    plain = urllib3.PoolManager(retries=False).request("GET", f"http://127.0.0.1:{port}{path}")
    assert plain.status == 400  # Go's answer to plaintext on a TLS port; nothing served


def test_the_watchdog_reaches_alertmanager_over_tls_and_auth(stack: Stack) -> None:
    auth = ("admin", stack.password("alertmanager"))

    def watchdog() -> list[dict[str, Any]]:
        alerts = stack.get("alertmanager", "/api/v2/alerts", auth=auth).json()
        return [a for a in alerts if a["labels"]["alertname"] == "Watchdog"]

    found = wait_for(watchdog, timeout=90)
    assert found, stack.servers["prometheus"].output()
    assert [r["name"] for r in found[0]["receivers"]] == ["watchdog"]
    assert stack.query("prometheus_notifications_alertmanagers_discovered")[0]["value"][1] == "1"


def test_the_alertmanager_healthcheck_runs_as_rendered(stack: Stack) -> None:
    """The container's healthcheck (amtool with the rendered client config) against the
    real server; with a wrong password file it fails (the control)."""
    server = stack.servers["alertmanager"]
    check = stack.rendered["alertmanager"]
    command = [
        re.sub(
            r"https://127\.0\.0\.1:\d+",
            f"https://127.0.0.1:{server.port}",
            part.replace("/etc/vos", str(server.config)),
        )
        for part in check.healthcheck
    ]
    assert subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    secret = server.config / "secrets" / "admin-password"
    saved = secret.read_text()
    secret.write_text(saved + "x")
    try:
        assert subprocess.run(command, capture_output=True, timeout=30).returncode != 0
    finally:
        secret.write_text(saved)


@pytest.mark.parametrize(
    "rule_file",
    ["platform.yml", "rabbitmq.yml", "postgres.yml", "prometheus.yml", "alertmanager.yml"],
)
def test_every_metric_the_alerts_read_is_scraped(stack: Stack, rule_file: str) -> None:
    """Names checked against what the real servers and exporters expose through the
    rendered scrape jobs, not against a list. (The apps' rules read the app contract's
    names: test_alert_rules.py.)"""
    document = yaml.safe_load((RULES / rule_file).read_text())
    names = {n for g in document["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
    assert names
    assert wait_for(lambda: not _unscraped(stack, names)), _unscraped(stack, names)


def test_prometheus_keeps_its_samples_by_time_and_by_size(stack: Stack) -> None:
    auth = ("admin", stack.password("prometheus"))
    flags = stack.get("prometheus", "/api/v1/status/flags", auth=auth).json()["data"]
    kept = PrometheusRetention()  # dev's: retention.prometheus unset
    assert flags["storage.tsdb.retention.time"] == f"{kept.days}d"
    assert flags["storage.tsdb.retention.size"] == f"{kept.gib}GiB"


def test_the_alert_rules_load_and_evaluate_on_the_real_server(stack: Stack) -> None:
    auth = ("admin", stack.password("prometheus"))

    def health() -> dict[str, str]:
        groups = stack.get("prometheus", "/api/v1/rules", auth=auth).json()["data"]["groups"]
        return {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}

    expected = {
        rule["alert"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    assert set(health()) == expected
    assert wait_for(lambda: set(health().values()) == {"ok"}), health()


def _grafana_file(stack: Stack, path: str) -> str:
    return stack.rendered["grafana"].file(path)


def test_grafanas_datasources_reach_the_real_backends_as_provisioned(stack: Stack) -> None:
    """Each datasource as Grafana would use it: its URL's name, its CA (tlsCACert), its
    serverName and its basic auth, against the real server behind that name."""
    document = yaml.safe_load(_grafana_file(stack, f"{GRAFANA_PROVISIONING}/datasources/vos.yml"))
    paths = {"prometheus": "/api/v1/status/buildinfo", "alertmanager": "/api/v2/status"}
    checked = set()
    for source in document["datasources"]:
        if source["type"] not in paths:
            continue  # Jaeger: no binary here (its TLS material: tests/program/test_jaeger.py)
        name = source["url"].removeprefix("https://").split(":")[0]
        secure = {k: v.replace("$$", "$") for k, v in source["secureJsonData"].items()}
        ca = stack.file(f"{name}-ds-ca.crt", secure["tlsCACert"])
        pool = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca,
            assert_hostname=source["jsonData"]["serverName"],
            retries=False,
        )
        auth = f"{source['basicAuthUser']}:{secure['basicAuthPassword']}"
        url = f"https://127.0.0.1:{stack.servers[name].port}{paths[source['type']]}"
        response = pool.request("GET", url, headers=urllib3.make_headers(basic_auth=auth))
        assert response.status == 200, (name, response.status)
        checked.add(source["type"])
    assert checked == {"prometheus", "alertmanager"}


def test_every_metric_the_dashboards_read_is_scraped(stack: Stack) -> None:
    """Names the exporters and servers here provide (the apps' come from the contract:
    tests/program/test_grafana.py)."""
    names = set()
    for path, file in stack.rendered["grafana"].files.items():
        if path.endswith(".json"):
            for panel in json.loads(file.content)["panels"]:
                for target in panel["targets"]:
                    if target["datasource"]["type"] == "prometheus":
                        expr = re.sub(r"\$\w+", "1m", target["expr"])
                        names |= metric_names(expr)
    names = {n for n in names if not n.startswith(("http_server_", "vos_"))}
    assert {"pg_up", "rabbitmq_connections", "probe_success", "ALERTS"} <= names
    assert wait_for(lambda: not _unscraped(stack, names)), _unscraped(stack, names)
