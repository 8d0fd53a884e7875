"""Observability on the engine: Prometheus scrapes every target over verified TLS behind its
password, the blackbox exporter and PostgreSQL's exporter report, and the engine writes the
log records Alloy reads."""

from __future__ import annotations

import json
from pathlib import Path

import jmespath

from components.alloy import files as alloy
from tests.docker.probes import APPS, eventually, prometheus_api
from tests.docker.stack import PREFIX, Stack


def test_prometheus_scrapes_every_target_over_verified_tls_and_demands_its_password(
    stack: Stack,
) -> None:
    """Its published endpoint (TLS, name localhost, basic auth), and every target the
    program gave it up: itself, RabbitMQ's two jobs, the gateway and each agent on their
    metrics endpoints, the exporters and the backup service, which take only the metrics
    CA's scrape identity."""
    assert prometheus_api(stack, "/api/v1/query?query=up", auth=False)[0] == 401
    wanted = {"prometheus", "rabbitmq", "rabbitmq-queues", *APPS}
    wanted |= {"postgres-exporter", "blackbox-exporter", "blackbox", "alertmanager"}
    wanted |= {"postgres-backup"}  # its metrics endpoint: the scrape identity only

    def up() -> dict[str, str]:
        status, body = prometheus_api(stack, "/api/v1/query?query=up")
        assert status == 200, body
        return {r["metric"]["job"]: r["value"][1] for r in body["data"]["result"]}

    assert eventually(lambda: up() == dict.fromkeys(wanted, "1"), seconds=90), up()
    _, targets = prometheus_api(stack, "/api/v1/targets")
    urls = {t["scrapeUrl"] for t in targets["data"]["activeTargets"]}
    assert urls and all(u.startswith("https://") for u in urls)

    def probes() -> dict[str, str]:
        _, body = prometheus_api(stack, "/api/v1/query?query=probe_success")
        return {r["metric"]["instance"]: r["value"][1] for r in body["data"]["result"]}

    # The blackbox exporter completes a verified TLS handshake with every endpoint by name.
    endpoints = {"rabbitmq:5671", "weaviate:8443", "edge:8443", "prometheus:9090"}
    endpoints |= {"alertmanager:9093", *(f"{app}:8443" for app in APPS)}
    assert eventually(lambda: probes() == dict.fromkeys(endpoints, "1"), seconds=60), probes()
    # PostgreSQL through its exporter, which logs in as the monitor role.
    _, pg_up = prometheus_api(stack, "/api/v1/query?query=pg_up")
    assert [r["value"][1] for r in pg_up["data"]["result"]] == ["1"]
    # control: without the scrape identity an app's metrics endpoint refuses the handshake
    probe = (
        "import socket, ssl, sys\n"
        "c = ssl.create_default_context(cafile='/ca.crt')\n"
        "s = c.wrap_socket(socket.create_connection((sys.argv[1], 9464), timeout=5),"
        " server_hostname=sys.argv[1])\n"
        "s.sendall(b'GET /metrics HTTP/1.0\\r\\n\\r\\n'); print(s.recv(12))\n"
    )
    code, out = stack.run("python3", "-c", probe, "weather-agent")
    assert code != 0 and "200" not in out, out


def test_the_engine_writes_the_log_records_alloy_reads(stack: Stack) -> None:
    """Alloy (no binary here) reads the json-file driver's files, not the engine's socket:
    the records a real engine writes for the program's log options carry each container's
    service, and Alloy's own expressions (components/alloy/files.py) pick them apart."""
    found = {}
    for service in ("postgres", "prometheus"):
        path = Path(stack.inspect(f"{PREFIX}-{service}")["LogPath"])
        assert path.name.endswith("-json.log") and path.parent.parent.name == "containers"
        record = json.loads(path.read_text().splitlines()[-1])
        found[service] = {n: jmespath.search(e, record) for n, e in alloy.EXPRESSIONS.items()}
    for service, picked in found.items():
        assert picked["service"] == service and picked["stack"] == "dev", picked
        assert picked["stream"] in ("stdout", "stderr") and picked["output"] and picked["time"]
