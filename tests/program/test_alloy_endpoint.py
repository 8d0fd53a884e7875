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
from components.edge.access_log import FIELDS
from components.log_counts import LogCount
from components.loki.files import CONFIG as LOKI_CONFIG
from components.loki.files import STORE_NAME as LOKI_STORE
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


def _blocks(config: str, opening: str) -> list[str]:
    found, at = [], 0
    while (at := config.find(opening + " {", at)) >= 0:
        found.append(_block(config[at:], opening))
        at += len(found[-1])
    return found


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


def _matches(config: str) -> dict[str, str]:
    """Each stage.match block by its selector."""
    blocks, at = {}, 0
    while (at := config.find("  stage.match {", at)) >= 0:
        block = _block(config[at:], "  stage.match")
        blocks[_setting(block, "selector")] = block
        at += len(block)
    return blocks


def _service_labels(dev: Evaluation) -> set[str]:
    """The `vos.service` label of every container the stack runs."""
    return {
        x["value"]
        for r in dev.of_type("docker:index/container:Container")
        for x in r.inputs.get("labels", [])
        if x["label"] == "vos.service"
    }


SELECTOR = re.compile(
    r'\{service(?P<op>=~?)"(?P<service>[^"]+)", stream="(?P<stream>stdout|stderr)"\}'
    r'(?: \|~ "(?P<filter>(?:[^"\\]|\\.)*)")?'
)


@pytest.mark.parametrize("count", alloy.COUNTS, ids=lambda c: c.service.strip("-"))
def test_each_log_count_reads_its_own_services_stream_as_declared(
    rendered: dict[str, RenderedContainer], dev: Evaluation, count: LogCount
) -> None:
    config = rendered["alloy"].file(alloy.CONFIG)
    matches = _matches(config)
    assert set(matches) == {c.selector for c in alloy.COUNTS}
    block = matches[count.selector]
    found = SELECTOR.fullmatch(_setting(block, "selector"))
    assert found, block
    assert found["stream"] == count.stream  # e.g. its access log only, not its errors
    # The selector names the label the service's containers really log with.
    labels = _service_labels(dev)
    if count.suffix:
        named = {x for x in labels if re.fullmatch(found["service"], x)}
        assert found["op"] == "=~" and named and all(x.endswith(count.service) for x in named)
    else:
        assert found["op"] == "=" and found["service"] == count.service in labels
    if count.line_filter:
        written = found["filter"].replace('\\"', '"').replace("\\\\", "\\")
        assert written == count.line_filter
    if count.parser is None:
        assert "stage.logfmt" not in block and "stage.json" not in block
    else:
        parser = _block(block, f"    stage.{count.parser}")
        assert _setting(parser, "source") == "output"  # the line Docker's record carried
        assert set(re.findall(r'^\s*(\w+) = ""', parser, re.M)) == set(count.fields)
    expressions = [_setting(b, "expression") for b in _blocks(block, "    stage.regex")]
    assert expressions == [e.expression for e in count.extracts]
    rendered_counters = [
        (
            _setting(b, "prefix") + _setting(b, "name"),
            _setting(b, "source") if "source" in b else None,
            _setting(b, "value") if "value " in b else None,
        )
        for b in _blocks(block, "      metric.counter")
    ]
    assert rendered_counters == [(c.metric, c.source, c.value) for c in count.counters]
    # The counts run before the line is replaced by its text.
    assert config.index("stage.match") < config.index("stage.output")


def test_request_and_trace_ids_are_kept_as_metadata_never_as_labels(
    rendered: dict[str, RenderedContainer],
) -> None:
    config = rendered["alloy"].file(alloy.CONFIG)
    metadata = _block(config, "  stage.structured_metadata")
    kept = set(re.findall(r'^\s*(\w+) = ""', metadata, re.M))
    # The keys the edge writes (and the contract asks of the apps).
    assert kept == set(alloy.REQUEST_FIELDS) <= {key for key, _ in FIELDS}
    labels = _block(config, "  stage.labels")
    assert not kept & set(re.findall(r'^\s*(\w+) = ""', labels, re.M))
    loki = yaml.safe_load(rendered[LOKI_STORE].file(LOKI_CONFIG))
    assert loki["limits_config"]["allow_structured_metadata"] is True
