"""The TLS 1.1 probe really offers TLS 1.1: against a server that allows it, it connects.
Without this control, 'the server refused TLS 1.1' could be our own client refusing."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from pathlib import Path

from tests.integration.tls_probe import handshake
from tools.offline import material


def test_probe_negotiates_tls_1_1_with_a_permissive_server(tmp_path: Path) -> None:
    key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    cert = material.self_signed_cert(
        {
            "privateKeyPem": key["privateKeyPem"],
            "subject": {"commonName": "probe"},
            "validityPeriodHours": 1,
            "allowedUses": ["digital_signature", "server_auth"],
        }
    )
    (tmp_path / "c.pem").write_text(cert["certPem"])
    (tmp_path / "k.pem").write_text(key["privateKeyPem"])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server.minimum_version = ssl.TLSVersion.TLSv1_1
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert handshake(listener.getsockname()[1], ssl.TLSVersion.TLSv1_1) == "TLSv1.1"
    finally:
        thread.join(timeout=5)
        listener.close()
