"""An HTTPS server standing in for an upstream (the gateway behind the edge, the Loki store
behind its gate): answers 200 with a small JSON body and records what reached it, and,
given a client CA, demands a client certificate of it (recording the client's CN)."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HttpsStub:
    cert: str
    key: str
    client_ca: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    """Sent with every answer (e.g. an upstream's own, weaker security headers)."""
    seen: list[dict[str, Any]] = field(default_factory=list)
    """Each request: path, headers, and the client certificate's CN (None without one)."""

    def __post_init__(self) -> None:
        seen, extra = self.seen, self.extra_headers

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                client = None
                if peer:
                    client = dict(item for rdn in peer["subject"] for item in rdn)["commonName"]
                seen.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "client": client}
                )
                body = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        if self.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.client_ca)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
