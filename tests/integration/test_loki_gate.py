"""Loki's gate: Debian's nginx run from exactly the rendered gate.conf and files, in front of
an HTTPS stand-in for the Loki store that holds Loki's real certificate and, like the store,
demands a client certificate of the platform CA. Each caller uses the identity the program
gives it (Alloy's writer certificate from its rendered files, Grafana's reader from its
rendered datasource, Prometheus's scrape identity), plus forged ones.

Remapped for the test: /etc/vos and the tmpfs folder -> temporary folders, the listen port
and the store's address -> free local ports. Nothing else."""

from __future__ import annotations

import datetime
import http.client
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.grafana.settings_ini import PROVISIONING
from components.loki import gate
from tests.helpers import output, write_private
from tests.integration.https_stub import HttpsStub
from tests.integration.nginx_server import start_nginx
from tests.integration.sockets import free_port
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation


@dataclass
class Gate:
    port: int
    ca: str
    store: HttpsStub
    folder: Path
    identities: dict[str, tuple[str, str]]
    """caller -> (certificate file, key file)"""
    process: subprocess.Popen[bytes]

    def request(self, who: str | None, method: str, path: str) -> int:
        context = ssl.create_default_context(cafile=self.ca)
        if who is not None:
            context.load_cert_chain(*self.identities[who])
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=context, timeout=10
        )
        # The gate's certificate names loki: verify it by that name.
        connection.sock = context.wrap_socket(
            socket.create_connection(("127.0.0.1", self.port), timeout=10),
            server_hostname="loki",
        )
        try:
            connection.request(method, path, body=b"{}" if method == "POST" else None)
            return connection.getresponse().status
        finally:
            connection.close()


def _forged(ca_cert_pem: str, ca_key_pem: str, common_name: str) -> tuple[str, str]:
    """A client certificate for `common_name` signed by the given CA (to impersonate a role
    across CAs)."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _pair(folder: Path, name: str, cert: str, key: str) -> tuple[str, str]:
    return write_private(folder, f"{name}.crt", cert), write_private(folder, f"{name}.key", key)


@pytest.fixture(scope="module")
def the_gate(dev: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    rendered = containers(dev)
    loki: RenderedContainer = rendered["loki"]
    folder = tmp_path_factory.mktemp("loki-gate")
    config_dir, tmp = folder / "etc", folder / "tmp"
    tmp.mkdir()
    for path, file in loki.files.items():
        target = config_dir / path.removeprefix(CONFIG_DIR + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_private(target.parent, target.name, file.content)

    def pem(name: str, field_name: str) -> str:
        return str(output(dev.named(name), field_name))

    store_files = containers(dev)["loki-store"].files
    # The store stand-in: Loki's certificate, client certificates of the platform CA
    # required, as loki.yaml's http_tls_config.
    store = HttpsStub(
        write_private(folder, "store.crt", store_files[f"{TLS_DIR}/server.crt"].content),
        write_private(folder, "store.key", store_files[f"{TLS_DIR}/server.key"].content),
        write_private(folder, "platform-ca.crt", pem("pki-ca-cert", "certPem")),
    )
    port = free_port()
    upstream = f'set $vos_store "{rendered["loki-store"].service}:3100";'
    text = loki.file(gate.CONF)
    assert upstream in text
    text = text.replace(upstream, f'set $vos_store "127.0.0.1:{store.port}";')
    process = start_nginx(text, config_dir, tmp, "listen 3100 ", port)

    alloy = rendered["alloy"].files
    sources = yaml.safe_load(rendered["grafana"].file(f"{PROVISIONING}/datasources/vos.yml"))
    (loki_source,) = [s for s in sources["datasources"] if s["type"] == "loki"]
    reader = loki_source["secureJsonData"]
    agent = rendered["weather-agent"].files
    identities = {
        "alloy": _pair(
            folder,
            "alloy",
            alloy[f"{TLS_DIR}/client.crt"].content,
            alloy[f"{TLS_DIR}/client.key"].content,
        ),
        "grafana": _pair(
            folder,
            "grafana",
            reader["tlsClientCert"].replace("$$", "$"),
            reader["tlsClientKey"].replace("$$", "$"),
        ),
        "prometheus": _pair(
            folder,
            "prometheus",
            pem("pki-prometheus-scraper-cert", "certPem"),
            pem("pki-prometheus-scraper-key", "privateKeyPem"),
        ),
        "an agent": _pair(
            folder,
            "agent",
            agent[f"{TLS_DIR}/client.crt"].content,
            agent[f"{TLS_DIR}/client.key"].content,
        ),
        # The right names from the wrong CA: the gate checks the issuer too.
        "alloy from the metrics CA": _pair(
            folder,
            "forged-alloy",
            *_forged(
                pem("pki-metrics-ca-cert", "certPem"),
                pem("pki-metrics-ca-key", "privateKeyPem"),
                "alloy",
            ),
        ),
        "grafana from the metrics CA": _pair(
            folder,
            "forged-grafana-metrics",
            *_forged(
                pem("pki-metrics-ca-cert", "certPem"),
                pem("pki-metrics-ca-key", "privateKeyPem"),
                "grafana",
            ),
        ),
        "grafana from the platform CA": _pair(
            folder,
            "forged-grafana",
            *_forged(pem("pki-ca-cert", "certPem"), pem("pki-ca-key", "privateKeyPem"), "grafana"),
        ),
    }
    the = Gate(
        port,
        write_private(folder, "ca.crt", pem("pki-ca-cert", "certPem")),
        store,
        folder,
        identities,
        process,
    )
    try:
        yield the
    finally:
        process.terminate()
        process.wait(timeout=10)
        store.stop()


PUSH = ("POST", "/loki/api/v1/push")
QUERY = ("GET", "/loki/api/v1/query_range?query=%7Bservice%3D%22edge%22%7D")
LABELS = ("GET", "/loki/api/v1/labels")
DELETE = ("POST", "/loki/api/v1/delete?query=%7Bservice%3D%22edge%22%7D")
RULES = ("POST", "/loki/api/v1/rules/vos")
QUERY_BY_POST = ("POST", "/loki/api/v1/query_range")
METRICS = ("GET", "/metrics")
OTHER = ("GET", "/config")


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("alloy", {PUSH}),
        ("grafana", {QUERY, LABELS}),
        ("prometheus", {METRICS}),
        ("an agent", set()),
        ("alloy from the metrics CA", set()),
        ("grafana from the metrics CA", set()),
        ("grafana from the platform CA", set()),
    ],
)
def test_each_caller_has_exactly_its_one_right(
    the_gate: Gate, who: str, allowed: set[tuple[str, str]]
) -> None:
    for call in (PUSH, QUERY, LABELS, DELETE, RULES, QUERY_BY_POST, METRICS, OTHER):
        before = len(the_gate.store.seen)
        status = the_gate.request(who, *call)
        reached = the_gate.store.seen[before:]
        if call in allowed:
            assert status == 200, (who, call)
            # The store saw the gate's own identity, over TLS verified for Loki's name.
            assert [r["client"] for r in reached] == ["loki-gate"], (who, call)
        else:
            assert status == 403, (who, call, status)
            assert reached == [], (who, call)


def test_without_a_certificate_nothing_gets_through(the_gate: Gate) -> None:
    # nginx with ssl_verify_client on answers 400 ("No required SSL certificate was sent")
    before = len(the_gate.store.seen)
    for call in (PUSH, QUERY, METRICS):
        assert the_gate.request(None, *call) == 400
    assert len(the_gate.store.seen) == before
