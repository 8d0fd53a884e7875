"""A real RabbitMQ (Debian's rabbitmq-server) started as a non-root throwaway node with
exactly the files our program renders for the rabbitmq container."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.integration.local_files import (
    lay_out,
    private_workdir,
    remap,
    remove,
    run_as,
    service_account,
)
from tests.integration.vault_server import free_port_pairs
from tools.offline.rendered import RenderedContainer

ACCOUNT = "rabbitmq"
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # the real script; /usr/sbin's switches user
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
DIAGNOSTICS = "/usr/lib/rabbitmq/bin/rabbitmq-diagnostics"


class RabbitMqServer:
    def __init__(self, data_mib: int | None = None) -> None:
        """`data_mib`: the node's data (the container's volume) on a filesystem of its own of
        that size (a tmpfs: only what is written takes memory), to fill it."""
        self.root = private_workdir(ACCOUNT, "vos-rmq-")
        self.home = self.root / "home"
        self.data_mib = data_mib
        if data_mib is not None:
            uid, gid = service_account(ACCOUNT)
            self.home.mkdir()
            options = f"size={data_mib}m,uid={uid},gid={gid},mode=0700"
            subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.home)],
                           check=True, timeout=30)  # fmt: skip
        ports = free_port_pairs(5)
        self.amqps, self.management, self.prometheus, self.dist, self.epmd = ports
        self.node = "rabbit@localhost"  # replaced by the container's own in install()
        self.process: subprocess.Popen[bytes] | None = None
        self.config = self.root / "etc"

    def install(self, container: RenderedContainer) -> None:
        """(Re)write the container's files, as a replaced container receives its uploads."""
        self.config = lay_out(container, self.root, ACCOUNT, {"/var/lib/rabbitmq": self.home})
        conf = Path(remap(container.env["RABBITMQ_CONFIG_FILE"], self.config))
        text = conf.read_text()
        # Test remapping only: free loopback ports instead of the container's fixed ones.
        for key, port in (
            ("listeners.ssl.default", self.amqps),
            ("management.ssl.port", self.management),
            ("prometheus.ssl.port", self.prometheus),
        ):
            text = re.sub(rf"^{re.escape(key)} = \d+$", f"{key} = {port}", text, flags=re.M)
        text = text.replace(
            f"listeners.ssl.default = {self.amqps}",
            f"listeners.ssl.default = 127.0.0.1:{self.amqps}",
        )
        text += "management.ssl.ip = 127.0.0.1\nprometheus.ssl.ip = 127.0.0.1\n"
        conf.write_text(text)
        self.container = container
        self.node = container.env["RABBITMQ_NODENAME"]

    def env(self) -> dict[str, str]:
        container_env = self.container.env
        return os.environ | {
            "HOME": str(self.home),
            "RABBITMQ_CONFIG_FILE": remap(container_env["RABBITMQ_CONFIG_FILE"], self.config),
            "RABBITMQ_CONFIG_FILES": remap(container_env["RABBITMQ_CONFIG_FILES"], self.config),
            "RABBITMQ_ENABLED_PLUGINS_FILE": remap(
                container_env["RABBITMQ_ENABLED_PLUGINS_FILE"], self.config
            ),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbitmq.pid"),
            # As the container has them: the node name and epmd's address.
            "RABBITMQ_NODENAME": container_env["RABBITMQ_NODENAME"],
            "ERL_EPMD_ADDRESS": container_env["ERL_EPMD_ADDRESS"],
            "VOS_BROKER_USERS": remap(container_env["VOS_BROKER_USERS"], self.config),
            "VOS_BROKER_QUEUES": remap(container_env["VOS_BROKER_QUEUES"], self.config),
            # The container's command calls rabbitmq-server and rabbitmqctl from PATH: here
            # the real scripts, not /usr/sbin's wrappers that switch users.
            "PATH": f"{Path(SERVER).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            # Test remapping only: private port numbers, so this node and its epmd stand
            # beside any other on the machine. Which interfaces they listen on is left to
            # the rendered files (no inet_dist_use_interface here).
            "RABBITMQ_DIST_PORT": str(self.dist),
            "ERL_EPMD_PORT": str(self.epmd),
        }

    def start(self, timeout: float = 90) -> None:
        uid, gid = service_account(ACCOUNT)
        env_file = self.root / "rabbitmq-env.conf"
        env_file.write_text("")
        os.chown(env_file, uid, gid)
        with open(self.root / "server.log", "ab") as log:
            # The container's own command (its start script), its paths remapped.
            command = [remap(part, self.config) for part in self.container.command]
            self.process = subprocess.Popen(
                [*run_as(ACCOUNT), *command],
                env=self.env(),
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq exited:\n{self.log()[-4000:]}")
            if all(_listening(p) for p in (self.amqps, self.management, self.prometheus)):
                return
            time.sleep(0.2)
        raise RuntimeError(f"rabbitmq did not open its TLS ports:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run_as(ACCOUNT), CTL, "-n", self.node, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def listeners(self) -> list[dict[str, object]]:
        result = subprocess.run(
            [*run_as(ACCOUNT), DIAGNOSTICS, "-n", self.node, "listeners", "--formatter", "json"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found: list[dict[str, object]] = json.loads(result.stdout)["listeners"]
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stopped = self.ctl("stop")
            if stopped.returncode != 0:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        subprocess.run(
            ["epmd", "-kill"],
            env=os.environ | {"ERL_EPMD_PORT": str(self.epmd)},
            capture_output=True,
            check=False,
            timeout=10,
        )
        if self.data_mib is not None:
            subprocess.run(["umount", str(self.home)], check=False, timeout=30)
        remove(self.root)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
