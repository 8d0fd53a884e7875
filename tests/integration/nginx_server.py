"""Debian's nginx started from a rendered configuration (the edge's, Loki's gate's): its
paths remapped to the test's folders, checked with `nginx -t`, listening before return."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

from components.docker.spec import CONFIG_DIR
from components.edge.files import TMP

# In the container nginx runs as one unprivileged account that owns its tmpfs. Here the
# master may run as root, whose workers would otherwise drop to `nobody` and be unable to
# reach the test's private temporary folders: the workers keep the test's account.
_GLOBALS = f"daemon off; user {pwd.getpwuid(os.getuid()).pw_name};"


def start_nginx(
    rendered: str,
    config_dir: Path,
    tmp: Path,
    listen: str,
    port: int,
    stdout: Path | None = None,
    stderr: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`listen`: the rendered `listen <port> ` text; it becomes 127.0.0.1:<port>.
    `stdout`, `stderr`: where its access log and error log go (else nowhere, and a pipe read
    only when it fails to start)."""
    assert listen in rendered, listen
    text = (
        rendered.replace(CONFIG_DIR, str(config_dir))
        .replace(TMP, str(tmp))
        .replace(listen, f"listen 127.0.0.1:{port} ")
    )
    conf = config_dir / "nginx-test.conf"
    conf.write_text(text)
    tested = subprocess.run(
        ["nginx", "-t", "-q", "-e", "stderr", "-p", str(tmp), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stderr
    with open(stdout or os.devnull, "ab") as out:
        errors = stderr.open("ab") if stderr else None
        process = subprocess.Popen(
            ["nginx", "-e", "stderr", "-p", str(tmp), "-c", str(conf), "-g", _GLOBALS],
            stdout=out,
            stderr=errors or subprocess.PIPE,
        )
        if errors:
            errors.close()
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                said = stderr.read_text() if stderr else process.stderr.read().decode()  # type: ignore[union-attr]
                raise AssertionError(said) from None
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
