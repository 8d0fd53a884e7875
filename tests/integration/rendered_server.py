"""Start a Prometheus-family server (Prometheus, Alertmanager, the exporters, Debian builds)
from what its container receives: the rendered command, environment and files.

Remapped for the test, nothing else: /etc/vos -> a private folder (local_files.lay_out);
each listen address -> 127.0.0.1 and a free port; data folders -> the test's folder; every
`name:port` the files dial -> `name:<that service's test port>`; and, where a test asks,
intervals shortened. Names are NOT
remapped: the server runs in a mount namespace of its own whose /etc/hosts resolves every
platform name to 127.0.0.1, so TLS is verified for the very names the container would dial
(a certificate for another name fails as it would on Docker).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tests.integration.local_files import (
    lay_out,
    private_workdir,
    remap,
    remove,
    run_as,
    service_account,
)
from tests.integration.sockets import free_port, reachable
from tools.offline.rendered import RenderedContainer

ACCOUNT = "nobody"
"""uid 65534, as the official images of Prometheus, Alertmanager and the exporters run."""


def hosts_file(names: Iterable[str]) -> Path:
    """A hosts file naming every platform service 127.0.0.1 (world-readable: the servers
    run as nobody)."""
    handle, path = tempfile.mkstemp(prefix="vos-hosts-", dir="/tmp")
    with os.fdopen(handle, "w") as out:
        out.write("127.0.0.1 localhost\n")
        out.writelines(f"127.0.0.1 {name}\n" for name in sorted(set(names)))
    Path(path).chmod(0o644)
    return Path(path)


def in_private_hosts(hosts: Path) -> list[str]:
    """A command prefix: a new mount namespace whose /etc/hosts is `hosts`. As root (CI) a
    plain mount namespace; otherwise a user namespace maps us to root inside it."""
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    return [
        "unshare",
        *user,
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind "$0" /etc/hosts && exec "$@"',
        str(hosts),
    ]


def retarget(text: str, addresses: dict[str, int]) -> str:
    """Every `name:port` of `addresses` ("rabbitmq:15691" -> test port) in a rendered file
    or argument, as whole tokens only (rabbitmq:5671 is not rabbitmq:56710)."""
    for address, port in addresses.items():
        name = address.rpartition(":")[0]
        text = re.sub(rf"(?<![\w.-]){re.escape(address)}(?!\d)", f"{name}:{port}", text)
    return text


class RenderedServer:
    def __init__(
        self,
        container: RenderedContainer,
        binary: str,
        hosts: Path,
        addresses: dict[str, int],
        listen: int,
        faster: dict[str, str] | None = None,
        sooner: Sequence[str] = (),
    ) -> None:
        """`addresses`: `name:port` as rendered -> the port its test server listens on;
        `listen`: this server's own test port; `faster`: text -> replacement in its files
        that only shortens its intervals (the one remapping besides paths and ports);
        `sooner`: flags added to its command that only shorten its delays."""
        self.container, self.port = container, listen
        self.root = private_workdir(ACCOUNT, f"vos-{container.service}-")
        self.config = lay_out(container, self.root, ACCOUNT)
        for path in self.config.rglob("*"):
            if path.is_file():
                text = retarget(path.read_text(), addresses)
                for old, new in (faster or {}).items():
                    text = text.replace(old, new)
                path.write_text(text)
        data = self.root / "data"
        data.mkdir()
        os.chown(data, *service_account(ACCOUNT))
        args = []
        for part in container.command:
            part = retarget(remap(part, self.config), addresses)
            part = re.sub(r"^(--web\.listen-address)=.*", rf"\1=127.0.0.1:{listen}", part)
            part = re.sub(r"^(--storage\.(?:tsdb\.)?path)=.*", rf"\1={data}", part)
            args.append(part)
        args += sooner
        env = {k: retarget(remap(v, self.config), addresses) for k, v in container.env.items()}
        self.log = self.root / "server.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*in_private_hosts(hosts), *run_as(ACCOUNT), binary, *args],
                env=os.environ | env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_listening(self.process, self.port, container.service, self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop_server(self.process, self.root)


def wait_listening(
    process: subprocess.Popen[bytes],
    port: int,
    name: str,
    output: Callable[[], str],
    timeout: float = 30,
) -> None:
    """Until a server started from rendered files listens on 127.0.0.1:`port`; its `output`
    in the error if it exits or does not listen in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{output()}")
        if reachable("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen:\n{output()}")


def stop_server(process: subprocess.Popen[bytes], root: Path) -> None:
    """Stop it (killed if it takes over 20 s) and remove its private folder."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    remove(root)


def free_ports(names: Iterable[str]) -> dict[str, int]:
    """A free loopback port for each `name:port`."""
    return {name: free_port() for name in names}
