"""Raw TLS probes: offer a server exactly one protocol version and see whether it agrees."""

from __future__ import annotations

import socket
import ssl
import struct
import warnings


def _client_context(version: ssl.TLSVersion, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if ca_file:
        context.load_verify_locations(ca_file)
    # Let our side offer old versions at all; the server must be the one that refuses.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 on purpose
        context.minimum_version = version
        context.maximum_version = version
    return context


def handshake(port: int, version: ssl.TLSVersion, postgres: bool = False) -> str:
    """Return the negotiated version; raise ssl.SSLError (or OSError) if refused."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        if postgres:
            raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
            if raw.recv(1) != b"S":
                raise ssl.SSLError("server declined TLS")
        with _client_context(version, None).wrap_socket(raw) as tls:
            return tls.version() or ""


CBC_ONLY = ":".join(
    [
        "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
        "AES128-SHA256", "AES128-SHA", "AES256-SHA",
    ]
)  # fmt: skip
"""TLS 1.2 suites with CBC (no AEAD), forward secret or not."""
AEAD = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


def tls12_cipher(port: int, ciphers: str) -> str:
    """Offer TLS 1.2 with only `ciphers` (OpenSSL names); the suite the server chose, or
    ssl.SSLError (or OSError) if it takes none of them."""
    context = _client_context(ssl.TLSVersion.TLSv1_2, None)
    context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw) as tls,
    ):
        chosen = tls.cipher()
        return chosen[0] if chosen else ""
