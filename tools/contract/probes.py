"""HTTPS to the app under test as its peers reach it: by its name, verified with the
platform CA, with a client certificate when one is given."""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class Peer:
    """A client of the app at `address`, verifying it as `name` with the platform CA."""

    def __init__(self, address: str, name: str, ca_pem: str) -> None:
        self.address, self.name, self.ca_pem = address, name, ca_pem
        self._folder = Path(tempfile.mkdtemp(prefix="vos-contract-peer-"))

    def context(
        self,
        identity: tuple[str, str] | None = None,
        maximum: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem)
        if maximum is not None:
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.maximum_version = maximum
            context.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer it: the server decides
        if identity is not None:
            cert, key = self._folder / "id.crt", self._folder / "id.key"
            cert.write_text(identity[0])
            key.touch(mode=0o600)
            key.write_text(identity[1])
            context.load_cert_chain(cert, key)
        return context

    def close(self) -> None:
        """Remove the identity files (a scrape identity's private key among them)."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def handshake(self, port: int, context: ssl.SSLContext) -> str:
        """The TLS version agreed (raises if the server refuses)."""
        with (
            socket.create_connection((self.address, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=self.name) as tls,
        ):
            return str(tls.version())

    def call(
        self,
        port: int,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        identity: tuple[str, str] | None = None,
        body: str | None = None,
    ) -> Answer:
        context = self.context(identity)
        connection = http.client.HTTPSConnection(self.name, port, context=context, timeout=15)
        connection.sock = context.wrap_socket(
            socket.create_connection((self.address, port), timeout=15),
            server_hostname=self.name,
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()
