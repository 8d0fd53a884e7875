"""A real TLS handshake between a service's rendered server files and a client identity,
for services with no binary here (Jaeger, Alloy): Python's TLS stack stands in for the
Go server, configured as the service's file says (RequireAndVerifyClientCert with its
client CA), and the client verifies the server by the name its scrapers and callers use."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from components.docker.spec import TLS_DIR
from tests.helpers import write_private
from tools.offline.rendered import RenderedContainer


def _serve_once(server: ssl.SSLContext, listener: socket.socket, result: list[str]) -> None:
    raw, _ = listener.accept()
    try:
        with server.wrap_socket(raw, server_side=True) as tls:
            tls.sendall(b"ok")
            result.append("accepted")
    except (ssl.SSLError, OSError) as error:
        result.append(f"refused: {error}")


def handshake(
    service: RenderedContainer,
    client_ca_path: str,
    identity: tuple[str, str],
    folder: Path,
    server_name: str,
) -> str:
    """ "accepted", or "refused: <why>" as the server saw it. `identity`: the client's
    certificate and key (PEM)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_2
    server.load_cert_chain(
        write_private(folder, "s.crt", service.file(f"{TLS_DIR}/server.crt")),
        write_private(folder, "s.key", service.file(f"{TLS_DIR}/server.key")),
    )
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(write_private(folder, "cca.crt", service.file(client_ca_path)))
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(write_private(folder, "ca.crt", service.file(f"{TLS_DIR}/ca.crt")))
    cert, key = identity
    client.load_cert_chain(
        write_private(folder, "c.crt", cert), write_private(folder, "c.key", key)
    )
    result: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=_serve_once, args=(server, listener, result))
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname()) as raw,
                client.wrap_socket(raw, server_hostname=server_name) as tls,
            ):
                tls.recv(2)
        except (ssl.SSLError, OSError):
            pass
        thread.join(timeout=10)
    return result[0]
