"""Debian's Squid (squid-openssl) started from the egress proxy's rendered files.

Remapped for the test, nothing else: /etc/vos and the tmpfs to private folders, the
listener to 127.0.0.1 and a free port. Names are not remapped: Squid runs in a mount
namespace whose /etc/hosts names the test's "outside" hosts 127.0.0.1, so it resolves the
very names an app asks for. It runs as the `proxy` account (uid 13, as in the container)
with its stdout a pipe owned by that account: runc gives a container's process its stdio
that way (libcontainer fixStdioPermissions), which is what lets Squid open /dev/stdout for
its access log.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from components.egress_proxy import files
from components.egress_proxy.definition import DEFINITION
from tests.integration.local_files import (
    lay_out,
    private_workdir,
    remap,
    run_as,
    service_account,
)
from tests.integration.rendered_server import in_private_hosts, stop_server, wait_listening
from tools.offline.rendered import RenderedContainer

ACCOUNT = "proxy"


class SquidServer:
    def __init__(self, container: RenderedContainer, hosts: Path, port: int) -> None:
        self.port = port
        self.root = private_workdir(ACCOUNT, "vos-egress-proxy-")
        config = lay_out(container, self.root, ACCOUNT)
        tmp = self.root / "tmp"
        tmp.mkdir()
        os.chown(tmp, *service_account(ACCOUNT))
        conf = config / "squid.conf"
        listen = f"https_port {DEFINITION.tls_port} "
        text = conf.read_text()
        assert listen in text, text
        text = text.replace(listen, f"https_port 127.0.0.1:{port} ").replace(files.TMP, str(tmp))
        conf.write_text(remap(text, config))
        parsed = subprocess.run(
            ["squid", "-k", "parse", "-f", str(conf)], capture_output=True, text=True
        )
        assert parsed.returncode == 0, parsed.stderr
        self.lines: list[str] = []
        read_end, write_end = os.pipe()
        os.fchown(write_end, *service_account(ACCOUNT))
        os.fchown(read_end, *service_account(ACCOUNT))
        self.process = subprocess.Popen(
            [*in_private_hosts(hosts), *run_as(ACCOUNT), "squid", "-N", "-f", str(conf)],
            stdout=write_end,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.close(write_end)
        self._reader = threading.Thread(target=self._read, args=(read_end,), daemon=True)
        self._reader.start()
        wait_listening(self.process, port, "squid", lambda: "\n".join(self.lines[-30:]))

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, errors="replace") as stream:
            for line in stream:
                self.lines.append(line.rstrip("\n"))

    def access_log(self) -> list[str]:
        """The access log lines (logfmt, files.LOG_FORMAT) Squid wrote so far."""
        return [line for line in self.lines if line.startswith("time=")]

    def stop(self) -> None:
        stop_server(self.process, self.root)
