"""Jaeger v2's rendered configuration against its documented format (no Jaeger binary exists
for these machines: tests/docker/images.py NO_STAND_IN), and its TLS material with a real
TLS stack: the OTLP receivers accept the apps' own certificates, the query API only a
telemetry reader's (Grafana's), each refusing the other.

Format: Jaeger's cmd/jaeger/internal/all-in-one.yaml (extensions jaeger_storage,
jaeger_query, healthcheckv2; receiver otlp; exporter jaeger_storage_exporter) and the
OpenTelemetry Collector's configtls server settings (cert_file, key_file, client_ca_file,
min_version)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.app.contract import CLIENT_CERT, CLIENT_KEY, JAEGER_OTLP_GRPC_PORT
from components.docker.spec import TLS_DIR
from components.jaeger import files
from tests.program.mutual_tls import handshake
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation


@pytest.fixture(scope="module")
def rendered(dev: Evaluation) -> dict[str, RenderedContainer]:
    return containers(dev)


def _config(rendered: dict[str, RenderedContainer]) -> dict[str, Any]:
    return dict(yaml.safe_load(rendered["jaeger"].file(files.CONFIG)))


def _listeners(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {
        f"otlp/{name}": server for name, server in config["receivers"]["otlp"]["protocols"].items()
    }
    query = config["extensions"]["jaeger_query"]
    found |= {"query/http": query["http"], "query/grpc": query["grpc"]}
    found["health"] = config["extensions"]["healthcheckv2"]["http"]
    return found


def test_the_pipeline_names_only_what_is_defined(rendered: dict[str, RenderedContainer]) -> None:
    config = _config(rendered)
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), kind
    storage = config["extensions"]["jaeger_storage"]["backends"]
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] in storage
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in storage
    # Bounded: the memory backend drops the oldest traces beyond its limit.
    assert all(b["memory"]["max_traces"] > 0 for b in storage.values())
    # v2 reads only its file: the image's entrypoint gets --config and nothing else.
    assert rendered["jaeger"].command == [f"--config={files.CONFIG}"]


def test_every_listener_is_loopback_or_tls_with_client_certificates(
    rendered: dict[str, RenderedContainer],
) -> None:
    jaeger = rendered["jaeger"]
    for name, server in _listeners(_config(rendered)).items():
        host = server["endpoint"].rpartition(":")[0]
        if host == "127.0.0.1":
            continue
        tls = server.get("tls")
        assert tls and tls["min_version"] == "1.2", name
        for key in ("cert_file", "key_file", "client_ca_file"):
            assert tls[key] in jaeger.files, (name, key)
    telemetry = _config(rendered)["service"]["telemetry"]["metrics"]["readers"]
    assert telemetry[0]["pull"]["exporter"]["prometheus"]["host"] == "127.0.0.1"


def test_apps_send_traces_with_their_own_certificates(
    rendered: dict[str, RenderedContainer],
) -> None:
    for name in ("api-gateway", "primary-agent", "weather-agent"):
        env = rendered[name].env
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"https://jaeger:{JAEGER_OTLP_GRPC_PORT}"
        assert env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] == CLIENT_CERT
        assert env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] == CLIENT_KEY
        assert env["OTEL_SERVICE_NAME"] == name


def _handshake(
    jaeger: RenderedContainer, client_ca_path: str, cert: str, key: str, folder: Path
) -> str:
    return handshake(jaeger, client_ca_path, (cert, key), folder, "jaeger")


def test_otlp_takes_app_identities_and_the_query_api_only_grafanas_reader(
    rendered: dict[str, RenderedContainer], tmp_path: Path
) -> None:
    config = _config(rendered)
    otlp_ca = config["receivers"]["otlp"]["protocols"]["grpc"]["tls"]["client_ca_file"]
    query_ca = config["extensions"]["jaeger_query"]["http"]["tls"]["client_ca_file"]
    jaeger, app = rendered["jaeger"], rendered["weather-agent"]
    app_identity = (app.file(CLIENT_CERT), app.file(CLIENT_KEY))
    sources = yaml.safe_load(rendered["grafana"].file("/etc/vos/provisioning/datasources/vos.yml"))
    (source,) = [s for s in sources["datasources"] if s["type"] == "jaeger"]
    assert source["jsonData"]["tlsAuth"] is True and source["jsonData"]["serverName"] == "jaeger"
    reader = (source["secureJsonData"]["tlsClientCert"], source["secureJsonData"]["tlsClientKey"])
    assert _handshake(jaeger, otlp_ca, *app_identity, tmp_path) == "accepted"
    assert _handshake(jaeger, query_ca, *reader, tmp_path) == "accepted"
    # Each refuses the other: an app cannot read traces, Grafana's reader cannot send them;
    # nor can Prometheus's scrape identity (metrics CA) read them.
    assert _handshake(jaeger, query_ca, *app_identity, tmp_path).startswith("refused")
    assert _handshake(jaeger, otlp_ca, *reader, tmp_path).startswith("refused")
    prometheus = rendered["prometheus"]
    scraper = (prometheus.file(f"{TLS_DIR}/scraper.crt"), prometheus.file(f"{TLS_DIR}/scraper.key"))
    assert _handshake(jaeger, query_ca, *scraper, tmp_path).startswith("refused")
