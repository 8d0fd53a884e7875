"""Prometheus (Debian 2.42) started from the rendered web config and prometheus.yml, with the
platform's real certificates and its admin password, scraping itself and a real RabbitMQ
(started from the rendered broker files) over verified TLS.

Remapped for the test: /etc/vos -> a temporary folder; each target -> 127.0.0.1 and a free
port (the certificates' names are still checked: `server_name` is rendered); the scrape
interval is the renderer's parameter (2 s instead of 15 s).
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from components.docker.spec import CONFIG_DIR
from components.prometheus import files
from components.prometheus.web_password import web_password_hash
from infra.offline.rendered import containers
from infra.offline.runner import Evaluation
from tests.helpers import output, write_private
from tests.integration.rabbitmq_server import RabbitMqServer
from tests.integration.sockets import free_port
from tests.integration.tls_probe import handshake

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"


class Prometheus:
    def __init__(self, root: Path, dev: Evaluation, rabbitmq_port: int) -> None:
        self.port = free_port()
        self.password = str(output(dev.named("credentials-prometheus-admin-password"), "result"))
        etc = root / "etc"
        (etc / "tls").mkdir(parents=True)
        (etc / "secrets").mkdir()

        def pem(name: str, field: str) -> str:
            return str(output(dev.named(name), field))

        for name, text in {
            "tls/server.crt": pem("pki-prometheus-cert", "certPem"),
            "tls/server.key": pem("pki-prometheus-key", "privateKeyPem"),
            "tls/ca.crt": pem("pki-ca-cert", "certPem"),
            "tls/scraper.crt": pem("pki-prometheus-scraper-cert", "certPem"),
            "tls/scraper.key": pem("pki-prometheus-scraper-key", "privateKeyPem"),
            "secrets/admin-password": self.password,
            "web.yml": files.web_config(web_password_hash(self.password, files.ADMIN)),
            "prometheus.yml": files.prometheus_yml(
                {"prometheus": f"127.0.0.1:{self.port}", "rabbitmq": f"127.0.0.1:{rabbitmq_port}"},
                interval_s=2,
            ),
        }.items():
            path = etc / name
            write_private(path.parent, path.name, text.replace(CONFIG_DIR, str(etc)))
        shutil.copytree(RULES, etc / "rules")  # what the container is to receive
        self.ca = str(etc / "tls" / "ca.crt")
        self.config, self.web = etc / "prometheus.yml", etc / "web.yml"
        for check in (
            ["check", "config", str(self.config)],
            ["check", "web-config", str(self.web)],
        ):
            result = subprocess.run(["promtool", *check], capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.config}",
                f"--web.config.file={self.web}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.get("/-/ready").status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass
            assert self.process.poll() is None, self.process.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.2)
        raise AssertionError("prometheus did not become ready")

    def get(self, path: str, auth: tuple[str, str] | bool | None = True, **fields: Any) -> Any:
        if auth is True:
            auth = (files.ADMIN, self.password)
        headers = urllib3.make_headers(basic_auth=":".join(auth)) if auth else {}
        pool = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=self.ca, assert_hostname="prometheus", retries=False
        )
        return pool.request(
            "GET",
            f"https://127.0.0.1:{self.port}{path}",
            headers=headers,
            fields=fields,
            timeout=10,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def prometheus(dev: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    assert shutil.which("prometheus"), "Debian's prometheus package (scripts/system-deps.sh)"
    broker = RabbitMqServer()
    broker.install(containers(dev)["rabbitmq"])
    broker.start()
    try:
        server = Prometheus(tmp_path_factory.mktemp("prometheus"), dev, broker.prometheus)
        try:
            yield server
        finally:
            server.stop()
    finally:
        broker.stop()


def test_the_web_endpoint_demands_the_admin_password(prometheus: Prometheus) -> None:
    assert prometheus.get("/api/v1/status/buildinfo").status == 200
    assert prometheus.get("/api/v1/status/buildinfo", auth=None).status == 401
    wrong = (files.ADMIN, prometheus.password + "x")
    assert prometheus.get("/api/v1/status/buildinfo", auth=wrong).status == 401
    other_user = ("root", prometheus.password)
    assert prometheus.get("/api/v1/status/buildinfo", auth=other_user).status == 401


def test_the_web_endpoint_speaks_tls_1_2_and_up_only(prometheus: Prometheus) -> None:
    assert handshake(prometheus.port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(prometheus.port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(prometheus.port, ssl.TLSVersion.TLSv1_1)
    plain = urllib3.PoolManager(retries=False)
    response = plain.request("GET", f"http://127.0.0.1:{prometheus.port}/-/ready", timeout=5)
    assert response.status == 400  # Go's answer to plaintext on a TLS port; nothing served


def _up(prometheus: Prometheus) -> dict[str, str]:
    result = prometheus.get("/api/v1/query", query="up").json()["data"]["result"]
    return {r["metric"]["job"]: r["value"][1] for r in result}


ALL_UP = {"prometheus": "1", "rabbitmq": "1", "rabbitmq-queues": "1"}


def test_every_target_is_scraped_over_verified_tls(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _up(prometheus) != ALL_UP:
        time.sleep(1)
    assert _up(prometheus) == ALL_UP
    targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
    assert {t["scrapeUrl"].split(":")[0] for t in targets} == {"https"}
    # The detailed endpoint's per-queue series carry the queue's name.
    series = prometheus.get("/api/v1/query", query="rabbitmq_detailed_queue_consumers").json()[
        "data"
    ]["result"]
    assert series and all("queue" in s["metric"] for s in series)


def _metric_names(rule_file: Path) -> set[str]:
    """Metric names the alert expressions of a rule file read."""
    document = yaml.safe_load(rule_file.read_text())
    names: set[str] = set()
    for group in document["groups"]:
        for rule in group["rules"]:
            names |= set(re.findall(r"\b(rabbitmq_[a-z_]+|prometheus_[a-z_]+)\b", rule["expr"]))
    return names


@pytest.mark.parametrize("rule_file", ["rabbitmq.yml", "prometheus.yml"])
def test_every_metric_the_alerts_read_is_scraped(prometheus: Prometheus, rule_file: str) -> None:
    # Names checked against what the real RabbitMQ 3.10 and Prometheus 2.42 expose through
    # the rendered scrape jobs, not against a list. Prometheus's Alertmanager metric exists
    # only once an Alertmanager is configured (none is yet).
    names = _metric_names(RULES / rule_file) - {"prometheus_notifications_alertmanagers_discovered"}
    assert names
    deadline = time.monotonic() + 60
    missing = names
    while missing and time.monotonic() < deadline:
        missing = {
            name
            for name in names
            if not prometheus.get("/api/v1/series", **{"match[]": name}).json()["data"]
        }
        time.sleep(1)
    assert not missing


def test_the_alert_rules_load_and_evaluate_on_the_real_server(prometheus: Prometheus) -> None:
    groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    expected = {
        rule["alert"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    assert loaded == expected
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
        health = {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}
        if set(health.values()) == {"ok"}:
            break
        time.sleep(1)
    assert set(health.values()) == {"ok"}, health
    # Evaluated on live data: the Watchdog fires, and no target is down.
    firing = {
        a["labels"]["alertname"] for a in prometheus.get("/api/v1/alerts").json()["data"]["alerts"]
    }
    assert "Watchdog" in firing and "TargetDown" not in firing
