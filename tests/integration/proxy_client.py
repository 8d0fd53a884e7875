"""An app's side of the egress proxy, as the contract describes it: TLS to the proxy
(verified as egress-proxy by the platform CA) with the app's client certificate, CONNECT,
then the app's own TLS to the outside host inside the tunnel. Shared by the proxy's tests
and its benchmark."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

from tests.helpers import throwaway_server
from tests.integration.sockets import free_port

Identity = tuple[str, str] | None
"""The app's client certificate and key files (None: present none)."""
T = TypeVar("T")


class Refused(Exception):
    """The proxy ended the TLS handshake or the connection: no certificate it accepts."""


def proxy_context(platform_ca: str, identity: Identity) -> ssl.SSLContext:
    """The app's TLS settings towards the proxy: the platform CA, its client certificate."""
    context = ssl.create_default_context(cafile=platform_ca)
    if identity:
        context.load_cert_chain(*identity)
    return context


def ask(port: int, platform_ca: str, identity: Identity, request: str) -> tuple[str, ssl.SSLSocket]:
    """Send `request` to the proxy on 127.0.0.1:`port`; its status line and the open
    connection."""
    return ask_with(proxy_context(platform_ca, identity), port, request)


def ask_with(context: ssl.SSLContext, port: int, request: str) -> tuple[str, ssl.SSLSocket]:
    """`ask` with TLS settings built once (as an app's HTTP client keeps them)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = context.wrap_socket(raw, server_hostname="egress-proxy")
    try:
        tls.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                raise Refused("connection closed")
            head += chunk
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as error:
        tls.close()
        raise Refused(str(error)) from error
    return head.split(b"\r\n", 1)[0].decode(), tls


def connect_request(target: str) -> str:
    return f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"


class TlsOver:
    """The app's own TLS to `host` over a byte stream (a TCP socket, or a tunnel through the
    proxy, which never sees into it), verified with `cafile`, and HTTP/1.1 requests on it.
    The same code both ways, so a comparison measures the path, not the client."""

    def __init__(self, stream: socket.socket, host: str, context: ssl.SSLContext) -> None:
        self.stream, self.host = stream, host
        # Each request is a small write: no Nagle delay on it (an HTTP client's default).
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.session = context.wrap_bio(self.incoming, self.outgoing, server_hostname=host)
        self._pump(self.session.do_handshake)
        self.buffer = b""

    def _pump(self, step: Callable[[], T]) -> T:
        while True:
            try:
                result = step()
            except ssl.SSLWantReadError:
                self.stream.sendall(self.outgoing.read())
                data = self.stream.recv(65536)
                if not data:
                    raise Refused("stream closed") from None
                self.incoming.write(data)
                continue
            self.stream.sendall(self.outgoing.read())
            return result

    def _read(self) -> None:
        self.buffer += self._pump(lambda: self.session.read(65536))

    def get(self, path: str = "/", keep_alive: bool = True) -> str:
        """GET `path`; the body (the answer carries Content-Length)."""
        connection = "keep-alive" if keep_alive else "close"
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nConnection: {connection}\r\n\r\n"
        self._pump(lambda: self.session.write(request.encode()))
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body.decode()

    def close(self) -> None:
        self.stream.close()


def get_inside(tunnel: ssl.SSLSocket, host: str, cafile: str) -> str:
    """One GET through an open tunnel; closes it."""
    session = TlsOver(tunnel, host, ssl.create_default_context(cafile=cafile))
    try:
        return session.get(keep_alive=False)
    finally:
        session.close()


def direct_session(port: int, host: str, context: ssl.SSLContext) -> TlsOver:
    """TLS straight to the host's server on 127.0.0.1:`port` (no proxy)."""
    return TlsOver(socket.create_connection(("127.0.0.1", port), timeout=10), host, context)


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections open between requests
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

    def do_GET(self) -> None:
        body = f"hello from {self.server.server_name}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def outside_server(name: str, folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """An HTTPS server for `name` on a free loopback port, with a certificate no CA of the
    platform signed (the app verifies it itself, end to end); returns it and its cert."""
    cert, key = throwaway_server(folder, name)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Hello)
    server.server_name = name
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert
