"""The PKI the program issues is real: the CA signs every leaf, names and usages are right,
and real OpenSSL accepts the certificates for the names clients dial and refuses others."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.helpers import (
    SELF_SIGNED,
    SIGNED,
    ca_certificate,
    certificate,
    config_with,
    leaf_certificate,
    output,
    private_key,
    profile,
    throwaway_ca,
    write_private,
)
from tools.offline import material
from tools.offline.runner import Evaluation, evaluate


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


def test_the_cas_are_self_signed_cas_limited_to_signing(stack_update: Evaluation) -> None:
    registrations = stack_update.of_type(SELF_SIGNED)
    assert sorted(r.name for r in registrations) == [
        "pki-ca-cert",
        "pki-metrics-ca-cert",
        "pki-readers-ca-cert",
    ]
    for registration in registrations:
        ca = certificate(registration)
        ca.verify_directly_issued_by(ca)
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca
        assert constraints.value.path_length == 0
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign and usage.crl_sign
        assert not usage.key_encipherment
    cas = [certificate(r) for r in registrations]
    assert (
        len({ca.subject for ca in cas})
        == len({str(ca.public_key().public_numbers()) for ca in cas})
        == 3
    )


ISSUED_BY = {"pki-prometheus-scraper-cert": "metrics", "pki-grafana-reader-cert": "readers"}
"""The only certificates not of the platform CA: Prometheus's scrape identity (metrics CA,
which metrics endpoints trust) and Grafana's reader (readers CA, which trace and log queries
trust); every other leaf is the platform CA's."""


def test_each_ca_really_signs_exactly_its_leaf_certificates(stack_update: Evaluation) -> None:
    cas = {
        "platform": ca_certificate(stack_update),
        "metrics": certificate(stack_update.named("pki-metrics-ca-cert")),
        "readers": certificate(stack_update.named("pki-readers-ca-cert")),
    }
    leaves = stack_update.of_type(SIGNED)
    assert len(leaves) >= 12
    for registration in leaves:
        leaf = certificate(registration)
        name = ISSUED_BY.get(registration.name, "platform")
        issuer = cas[name]
        leaf.verify_directly_issued_by(issuer)  # raises InvalidSignature if it does not
        assert leaf.issuer == issuer.subject
        for other in (ca for key, ca in cas.items() if key != name):
            with pytest.raises((InvalidSignature, ValueError)):
                leaf.verify_directly_issued_by(other)


def test_signature_check_detects_a_foreignca_certificate(dev: Evaluation) -> None:
    # same name as ours, different key
    foreign = x509.load_pem_x509_certificate(throwaway_ca("VOS dev CA").encode())
    with pytest.raises((InvalidSignature, ValueError)):
        leaf_certificate(dev, "postgres").verify_directly_issued_by(foreign)


def test_each_private_key_matches_its_certificate(stack_update: Evaluation) -> None:
    for registration in stack_update.of_type(SIGNED):
        name = registration.name.removesuffix("-cert")
        key = private_key(stack_update.named(f"{name}-key"))
        assert certificate(registration).public_key() == key.public_key(), name
    ca_key = private_key(stack_update.named("pki-ca-key"))
    assert ca_certificate(stack_update).public_key() == ca_key.public_key()
    metrics_key = private_key(stack_update.named("pki-metrics-ca-key"))
    metrics_ca = certificate(stack_update.named("pki-metrics-ca-cert"))
    assert metrics_ca.public_key() == metrics_key.public_key()


def test_internal_service_sans_are_exactly_the_names_clients_dial(dev: Evaluation) -> None:
    assert _sans(leaf_certificate(dev, "postgres")) == ({"postgres", "vos-dev-postgres"}, set())
    assert _sans(leaf_certificate(dev, "weather-agent")) == (
        {"weather-agent", "vos-dev-weather-agent"},
        set(),
    )


def test_published_dev_services_add_localhost_only_where_settings_ask(
    dev: Evaluation, prod: Evaluation
) -> None:
    dns, ips = _sans(leaf_certificate(dev, "edge"))
    assert dns == {"edge", "vos-dev-edge", "localhost"}
    assert ips == {"127.0.0.1", "::1"}
    dns, ips = _sans(leaf_certificate(prod, "edge"))
    assert dns == {"edge", "vos-prod-edge", "vos.example.com"} and ips == set()  # its public name
    # the gateway is not published (only the edge is): its names are the internal ones
    dns, ips = _sans(leaf_certificate(dev, "api-gateway"))
    assert dns == {"api-gateway", "vos-dev-api-gateway"} and ips == set()


def test_public_names_are_added_to_published_services_only() -> None:
    config = config_with(
        "dev",
        network=profile("dev")["network"] | {"publicNames": ["vos.example.org", "192.0.2.10"]},
    )
    ev = evaluate("dev", config)
    dns, ips = _sans(leaf_certificate(ev, "grafana"))
    assert "vos.example.org" in dns and "192.0.2.10" in ips
    assert "vos.example.org" not in _sans(leaf_certificate(ev, "postgres"))[0]


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_key_usages_fit_server_and_client_certificates(dev: Evaluation) -> None:
    server = leaf_certificate(dev, "rabbitmq")
    assert _eku(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = server.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    client = leaf_certificate(dev, "postgres-admin")
    assert _eku(client) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "vos_admin"
    with pytest.raises(x509.ExtensionNotFound):
        client.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_validity_comes_from_settings(dev: Evaluation) -> None:
    tls = profile("dev")["tls"]
    leaf = leaf_certificate(dev, "loki")
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(
        hours=tls["validityHours"]
    )
    ca = ca_certificate(dev)
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == dt.timedelta(
        hours=tls["caValidityHours"]
    )
    registration = dev.named("pki-loki-cert")
    assert registration.inputs["earlyRenewalHours"] == tls["earlyRenewalHours"]


def test_ecdsa_p256_by_default(dev: Evaluation) -> None:
    key = private_key(dev.named("pki-postgres-key"))
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def _counting_key_loads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    loads: list[bytes] = []
    original = serialization.load_pem_private_key

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        loads.append(data)
        return original(data, *args, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting)
    return loads


def test_rsa_3072_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = _counting_key_loads(monkeypatch)
    ev = evaluate(
        "dev", config_with("dev", tls=profile("dev")["tls"] | {"keyAlgorithm": "RSA-3072"})
    )
    # The mocks sign with the key objects they generated: no key is parsed (and, for RSA,
    # checked at length) again before its CSR, self-signature or each certificate it signs.
    assert loads == []
    monkeypatch.undo()
    key = private_key(ev.named("pki-postgres-key"))
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    cert = leaf_certificate(ev, "postgres")
    cert.verify_directly_issued_by(ca_certificate(ev))
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_a_key_from_elsewhere_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    loads = _counting_key_loads(monkeypatch)
    requests = [
        material.cert_request({"privateKeyPem": pem, "subject": {"commonName": f"n{i}"}})
        for i in range(3)
    ]
    assert len(loads) == 1
    for request in requests:
        csr = x509.load_pem_x509_csr(request["certRequestPem"].encode())
        assert csr.is_signature_valid
        assert (
            csr.public_key() == serialization.load_pem_private_key(pem.encode(), None).public_key()
        )


# --- real OpenSSL handshakes over loopback -------------------------------------------------


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> str:
    """Run one TLS handshake on loopback; return the negotiated version, or raise the
    client's error or, if the client got through (TLS 1.3 checks client certificates after
    the client has finished), the server's."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname=hostname) as tls_conn,
        ):
            version = tls_conn.version() or ""
            tls_conn.sendall(b"x")
    finally:
        thread.join(timeout=5)
        listener.close()
    if errors:
        raise errors[0]
    return version


def _material(ev: Evaluation, tmp: Path, name: str) -> tuple[str, str]:

    cert = write_private(tmp, f"{name}.crt", str(output(ev.named(f"pki-{name}-cert"), "certPem")))
    key = write_private(
        tmp, f"{name}.key", str(output(ev.named(f"pki-{name}-key"), "privateKeyPem"))
    )
    return cert, key


def test_openssl_accepts_the_dialed_name_and_refuses_others(
    dev: Evaluation, tmp_path: Path
) -> None:

    ca_file = write_private(tmp_path, "ca.crt", str(output(dev.named("pki-ca-cert"), "certPem")))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*_material(dev, tmp_path, "postgres"))
    client = ssl.create_default_context(cafile=ca_file)
    client.minimum_version = ssl.TLSVersion.TLSv1_2
    assert _handshake(server, client, "postgres") in {"TLSv1.2", "TLSv1.3"}
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, client, "rabbitmq")
    untrusting = ssl.create_default_context()  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, untrusting, "postgres")


def test_openssl_mutual_tls_with_the_client_certificate(dev: Evaluation, tmp_path: Path) -> None:

    ca_file = write_private(tmp_path, "ca.crt", str(output(dev.named("pki-ca-cert"), "certPem")))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*_material(dev, tmp_path, "postgres"))
    server.load_verify_locations(ca_file)
    server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context(cafile=ca_file)
    client.load_cert_chain(*_material(dev, tmp_path, "postgres-admin"))
    assert _handshake(server, client, "postgres")
    # A server certificate is not usable as a client identity (no clientAuth usage).
    wrong = ssl.create_default_context(cafile=ca_file)
    wrong.load_cert_chain(*_material(dev, tmp_path, "rabbitmq"))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        _handshake(server, wrong, "postgres")
