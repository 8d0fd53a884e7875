"""A stand-in VOS app for the Docker tier (see the Dockerfile): the contract, nothing more."""

import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENV = os.environ
SECRETS = ENV["VOS_SECRETS_DIR"]


def secret_files():
    files = [v for k, v in ENV.items() if k.endswith("_FILE") and v.startswith(SECRETS)]
    keys = ENV.get("VOS_AGENT_KEY_FILES", "")
    files += [pair.split("=", 1)[1] for pair in keys.split(",") if pair]
    return files


def ready():
    missing = []
    for path in secret_files():
        try:
            with open(path) as handle:
                if not handle.read():
                    missing.append(path)
        except OSError:
            missing.append(path)
    return missing


def postgres_user():
    with open(ENV["VOS_POSTGRES_PASSWORD_FILE"]) as handle:
        password = handle.read()
    dsn = (
        f"host={ENV['VOS_POSTGRES_HOST']} port={ENV['VOS_POSTGRES_PORT']} "
        f"dbname={ENV['VOS_POSTGRES_DATABASE']} user={ENV['VOS_POSTGRES_USER']} "
        f"sslmode={ENV['VOS_POSTGRES_SSLMODE']} sslrootcert={ENV['VOS_TLS_CA_FILE']} "
        "connect_timeout=10"
    )
    done = subprocess.run(
        ["psql", dsn, "-tAc", "select current_user"],
        env={"PGPASSWORD": password, "PATH": ENV.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, (done.stdout if done.returncode == 0 else done.stderr).strip()


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self._send(200, {"status": "ok"})
        elif self.path == "/readyz":
            missing = ready()
            self._send(503 if missing else 200, {"missing": missing})
        elif self.path == "/probe/postgres":
            code, answer = postgres_user()
            self._send(200 if code == 0 else 502, {"user" if code == 0 else "error": answer})
        else:
            self._send(
                200,
                {
                    "service": ENV["VOS_SERVICE_NAME"],
                    "path": self.path,
                    "request_id": self.headers.get("X-Request-ID"),
                },
            )

    def log_message(self, *args):
        pass


class Metrics(BaseHTTPRequestHandler):
    """The contract's metrics endpoint: only a client of the metrics CA gets this far."""

    def do_GET(self):
        body = b"# TYPE vos_app_up gauge\nvos_app_up 1\n"
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port, handler, client_ca=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ENV["VOS_TLS_CERT_FILE"], ENV["VOS_TLS_KEY_FILE"])
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    server = ThreadingHTTPServer(("0.0.0.0", int(port)), handler)  # noqa: S104
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


metrics = serve(ENV["VOS_METRICS_PORT"], Metrics, ENV["VOS_METRICS_CA_FILE"])
threading.Thread(target=metrics.serve_forever, daemon=True).start()
serve(ENV["VOS_HTTPS_PORT"], Handler).serve_forever()
