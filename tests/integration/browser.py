"""Debian's headless Chromium opening a page that makes one cross-origin request and reports
what the page could read, back to the server that served it (same origin, so nothing of CORS
is in the way of the report). What a browser lets a page see is the point of CORS; no
request library enforces it."""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# closed network refuses (the machine notes); as root it needs --no-sandbox.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

PAGE = """<!doctype html><meta charset="utf-8"><script>
const report = (what) => fetch("/report", {method: "POST", body: JSON.stringify(what)});
fetch(%(url)s, {method: %(method)s, headers: %(headers)s})
  .then(async (r) => report({status: r.status, body: await r.text(),
                             requestId: r.headers.get("X-Request-ID")}))
  .catch((e) => report({error: String(e)}));
</script>"""


def spki_pin(cert_pem: str) -> str:
    """Chromium's --ignore-certificate-errors-spki-list entry: base64 SHA-256 of the
    certificate's public key, so it trusts this one server and nothing else."""
    key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@dataclass
class Origin:
    """A page server on its own port: `http://localhost:<port>` is its origin."""

    server: ThreadingHTTPServer
    reports: queue.Queue[dict[str, Any]]

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_port}"


@contextmanager
def origin(
    target: Callable[[], str], method: str = "GET", headers: dict[str, str] | None = None
) -> Iterator[Origin]:
    """Serves the page asking `target()` (known when the page is asked for: the server it
    calls may start after this origin) at /, takes its report at /report."""
    reports: queue.Queue[dict[str, Any]] = queue.Queue()

    def page() -> str:
        return PAGE % {
            "url": json.dumps(target()),
            "method": json.dumps(method),
            "headers": json.dumps(headers or {}),
        }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page().encode() if self.path == "/" else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            reports.put(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Origin(server, reports)
    finally:
        server.shutdown()
        server.server_close()


def visit(page: Origin, profile: Path, resolve: dict[str, str], pins: list[str]) -> dict[str, Any]:
    """Opens the page in a fresh profile; `resolve`: host -> address for Chromium only;
    `pins`: the servers' SPKI pins it trusts. Returns the page's report."""
    rules = ",".join(f"MAP {host} {address}" for host, address in resolve.items())
    browser = subprocess.Popen(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={rules}",
            f"--ignore-certificate-errors-spki-list={','.join(pins)}",
            page.url + "/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return page.reports.get(timeout=60)
    finally:
        browser.kill()
        browser.wait(timeout=10)
