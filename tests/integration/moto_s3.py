"""moto's server on loopback: S3 (and KMS) as an endpoint that real clients (the CLI, the
backup image's Debian boto3) reach as they would reach AWS; over TLS with a given
certificate when a test needs a store's name verified end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.sockets import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
"""What moto accepts; real-looking enough for botocore to sign with."""


@contextmanager
def moto_server(
    port: int | None = None, tls: tuple[str, str] | None = None, path_style: bool = False
) -> Iterator[str]:
    """A running moto_server (on `port`, or a free one; with `tls` = (certificate, key)
    files, HTTPS); yields its URL on 127.0.0.1. `path_style`: read every request's bucket
    from its path, as an S3-compatible store does (moto takes the first label of a host
    name that is not AWS's for a bucket otherwise)."""
    port = port or free_port()
    extra = ["-c", tls[0], "-k", tls[1]] if tls else []
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port),
         *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **({"S3_IGNORE_SUBDOMAIN_BUCKETNAME": "true"} if path_style else {})},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("moto_server did not listen within 30 s")
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
