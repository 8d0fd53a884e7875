#!/usr/bin/python3
"""Stand-in for the Weaviate server binary (see the Dockerfile): its flags, its API-key
rules and its TLS endpoints, nothing of its database."""

import argparse
import http.server
import os
import socket
import ssl
import sys
import threading


def fail(message):
    print(f"weaviate stand-in: {message}", file=sys.stderr)
    sys.exit(1)


def api_keys():
    """Weaviate's rules: keys and users comma-separated, untrimmed, none empty; one user
    for all keys, or exactly one user per key."""
    if os.environ.get("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED") != "false":
        fail("anonymous access is not switched off")
    if os.environ.get("AUTHENTICATION_APIKEY_ENABLED") != "true":
        fail("API-key authentication is not enabled")
    keys = os.environ.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "").split(",")
    users = os.environ.get("AUTHENTICATION_APIKEY_USERS", "").split(",")
    if "" in keys or "" in users:
        fail("empty API key or user")
    if len(users) != 1 and len(users) != len(keys):
        fail(f"{len(keys)} keys but {len(users)} users")
    return dict(zip(keys, users * len(keys) if len(users) == 1 else users, strict=True))


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--scheme", "--tls-host", "--tls-port", "--tls-certificate", "--tls-key"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    if args.scheme != "https":
        fail("only https is served")
    keys = api_keys()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/v1/.well-known/ready":
                return self.reply(200, b"")
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in keys:
                return self.reply(401, b'{"error":"unauthorized"}')
            return self.reply(200, b'{"user":"%s"}' % keys[token].encode())

        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    # Inside the container, like Weaviate's own gRPC listener.
    grpc = socket.create_server(("0.0.0.0", int(os.environ["GRPC_PORT"])))  # noqa: S104
    grpc_tls = tls_context(os.environ["GRPC_CERT_FILE"], os.environ["GRPC_KEY_FILE"])

    def serve_grpc():
        while True:
            conn, _ = grpc.accept()
            try:
                grpc_tls.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve_grpc, daemon=True).start()
    server = http.server.ThreadingHTTPServer((args.tls_host, int(args.tls_port)), Handler)
    server.socket = tls_context(args.tls_certificate, args.tls_key).wrap_socket(
        server.socket, server_side=True
    )
    server.serve_forever()


main()
