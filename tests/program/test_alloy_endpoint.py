"""Alloy's own endpoint and the egress proxy's refusal count it serves, as rendered (no Alloy
binary exists for these machines: tests/docker/images.py NO_STAND_IN). The TLS material
meets a real TLS stack (tests/program/mutual_tls.py); the count's fields and regex meet a
real Squid's log lines in tests/integration/test_egress_proxy.py.

Sources: Alloy's `http` config block (tls: cert_file, key_file, client_ca_file,
client_auth_type, min_version, cipher_suites) and loki.process (stage.match selector,
stage.logfmt, stage.regex, stage.labels, stage.metrics metric.counter)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from components.alloy import files as alloy
from components.alloy.definition import DEFINITION
from components.docker.spec import TLS_DIR
from components.egress_proxy import refusals
from components.egress_proxy.files import REFUSED
from components.prometheus import files as prometheus
from tests.program.mutual_tls import handshake
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation

PROVES = ("alloy",)
"""Packages whose files this module checks (tests/program/test_registry.py)."""


@pytest.fixture(scope="module")
def rendered(dev: Evaluation) -> dict[str, RenderedContainer]:
    return containers(dev)


def _block(config: str, opening: str) -> str:
    """The text of the block that starts with `opening {`, up to its closing brace."""
    start = config.index(opening + " {")
    depth = 0
    for at in range(start, len(config)):
        depth += {"{": 1, "}": -1}.get(config[at], 0)
        if depth == 0 and config[at] == "}":
            return config[start : at + 1]
    raise AssertionError(f"{opening} is not closed")


def _setting(block: str, name: str) -> str:
    match = re.search(rf'^\s*{name}\s*=\s*"((?:[^"\\]|\\.)*)"', block, re.M)
    assert match, name
    return match[1].replace('\\"', '"').replace("\\\\", "\\")


def test_only_prometheus_scrape_identity_gets_into_alloys_endpoint(
    rendered: dict[str, RenderedContainer], tmp_path: Path
) -> None:
    server = rendered["alloy"]
    tls = _block(server.file(alloy.CONFIG), "http")
    assert _setting(tls, "client_auth_type") == "RequireAndVerifyClientCert"
    assert _setting(tls, "min_version") == "TLS12"
    client_ca = _setting(tls, "client_ca_file")
    for name in ("cert_file", "key_file", "client_ca_file"):
        assert _setting(tls, name) in server.files, name
    # On the backend network, where Prometheus is (not loopback any more).
    assert f"--server.http.listen-addr=0.0.0.0:{DEFINITION.tls_port}" in server.command

    # The scrape job as Prometheus runs it: its certificate, its server name.
    config = yaml.safe_load(rendered["prometheus"].file(prometheus.CONFIG))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "alloy"]
    target = f"{DEFINITION.dns_name}:{DEFINITION.tls_port}"
    assert job["scheme"] == "https" and job["static_configs"] == [{"targets": [target]}]
    scraping = rendered["prometheus"]
    scraper = (
        scraping.file(job["tls_config"]["cert_file"]),
        scraping.file(job["tls_config"]["key_file"]),
    )
    name = job["tls_config"]["server_name"]
    assert handshake(server, client_ca, scraper, tmp_path, name) == "accepted"
    # Its own writer identity (platform CA) and an app's are refused.
    writer = (server.file(alloy.CLIENT_CERT), server.file(alloy.CLIENT_KEY))
    app = rendered["weather-agent"]
    app_identity = (app.file(f"{TLS_DIR}/client.crt"), app.file(f"{TLS_DIR}/client.key"))
    for identity in (writer, app_identity):
        assert handshake(server, client_ca, identity, tmp_path, name).startswith("refused")


def test_the_refusal_count_reads_the_egress_proxys_own_stream(
    rendered: dict[str, RenderedContainer], dev: Evaluation
) -> None:
    config = rendered["alloy"].file(alloy.CONFIG)
    match = _block(config, "  stage.match")
    labels = {x["label"]: x["value"] for x in dev.named("egress-proxy-server").inputs["labels"]}
    assert _setting(match, "selector") == f'{{service="{labels["vos.service"]}"}}'
    logfmt = _block(match, "    stage.logfmt")
    assert _setting(logfmt, "source") == "output"  # the line Docker's record carried
    keys = set(re.findall(r'^\s*(\w+) = ""', logfmt, re.M))
    assert {refusals.RESULT, refusals.IDENTITY} <= keys
    regex = _block(match, "    stage.regex")
    assert _setting(regex, "expression") == refusals.APP_FROM_IDENTITY
    counter = _block(match, "      metric.counter")
    assert _setting(counter, "prefix") + _setting(counter, "name") == refusals.METRIC
    assert (_setting(counter, "source"), _setting(counter, "value")) == (refusals.RESULT, REFUSED)
    # The count runs before the line is replaced by its text, and only for the proxy.
    assert config.index("stage.match") < config.index("stage.output")
