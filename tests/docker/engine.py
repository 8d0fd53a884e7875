"""A Docker engine of the tests' own: Debian's dockerd with its own data root, exec root
and socket, started by the tests and stopped by its pid.

The data root persists between runs on one machine (VOS_DOCKER_DATA, default
/var/lib/vos-infra-tests/docker), so built images are kept; everything else the tests
create in it (containers, networks, volumes) is removed at start and at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml

DATA = Path(os.environ.get("VOS_DOCKER_DATA", "/var/lib/vos-infra-tests/docker"))
RUN = Path("/run/vos-infra-tests")  # short: a unix socket path has a length limit
ROLE = Path(__file__).resolve().parents[2] / "ansible/roles/docker_engine"
DAEMON_CONFIG = ROLE / "files/daemon.json"
"""The hardened daemon configuration the host layer writes: its log-opts defaults are what
the program's containers must not pick up (a second `up` would replace them)."""
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
"""The open-files limit of the tier: the role's default (65536) where this process may give
it; this sandbox's hard limit where lower (no CAP_SYS_RESOURCE to raise it)."""


def daemon_config() -> dict[str, object]:
    """daemon.json as the role writes it for a host, as far as the tier's engine takes it:
    every host's file and the role's `default-ulimits` (at NOFILE), the other defaults the
    program's containers must not pick up. (live-restore, userland-proxy and the API hosts
    are the host's business: tests/docker/test_host_layer.py checks them on node hosts.)"""
    base: dict[str, object] = json.loads(DAEMON_CONFIG.read_text())
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    limits = defaults["docker_engine_default_ulimits"]
    for limit in limits.values():
        limit["Soft"], limit["Hard"] = min(limit["Soft"], NOFILE), min(limit["Hard"], NOFILE)
    return {**base, "default-ulimits": limits}


class EngineUnavailable(RuntimeError):
    """dockerd is missing or did not come up; the message says what to do."""


@dataclass
class Engine:
    pid: int
    socket: Path
    log: Path
    child: subprocess.Popen[bytes] | None = None
    """The dockerd process when this process started it (so its exit is reaped here); None
    when it joined an engine another tier process started (engine_share.py)."""

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def api(self) -> docker.APIClient:
        """A low-level client, one per caller (the provider makes one per operation)."""
        return docker.APIClient(base_url=self.url, version="auto", timeout=300)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, version="auto", timeout=300)

    def clean(self) -> None:
        """Remove every container, network and volume; keep images."""
        api = self.api()
        for container in api.containers(all=True, quiet=True):
            api.remove_container(container["Id"], force=True, v=True)
        for network in api.networks():
            if network["Name"] not in ("bridge", "host", "none"):
                api.remove_network(network["Id"])
        for volume in api.volumes().get("Volumes") or []:
            api.remove_volume(volume["Name"], force=True)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.clean()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
            if not self.exited(30):
                os.kill(self.pid, signal.SIGKILL)
                self.exited(10)

    def exited(self, timeout: float) -> bool:
        """Whether dockerd is gone within `timeout` seconds. One another process started stays
        a zombie of that process until it exits: gone as well."""
        if self.child is not None:
            try:
                self.child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _gone(self.pid):
                return True
            time.sleep(0.2)
        return _gone(self.pid)


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _stop_leftover(pidfile: Path, timeout: float = 60) -> None:
    """A dockerd of a run that died still holds the pid file and the data root: stop it
    (it gives its containers 10 s each), and kill it if it does not go."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ProcessLookupError):
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        time.sleep(1)


def _launch(timeout: float, clean: bool) -> Engine:
    """dockerd with the tier's data root and configuration, once it answers; `clean` removes
    what an earlier run left."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable("dockerd not found: apt-get install docker.io")
    pidfile, sock, log = RUN / "docker.pid", RUN / "docker.sock", RUN / "dockerd.log"
    config = RUN / "daemon.json"
    config.write_text(json.dumps(daemon_config(), indent=2))
    _stop_leftover(pidfile)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                dockerd,
                f"--data-root={DATA}",
                f"--exec-root={RUN / 'exec'}",
                f"--host=unix://{sock}",
                f"--pidfile={pidfile}",
                f"--config-file={config}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = Engine(process.pid, sock, log, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"dockerd exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(Exception):
            engine.api().ping()
            if clean:
                engine.clean()
            return engine
        time.sleep(0.3)
    engine.stop()
    raise EngineUnavailable(f"dockerd did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def start(timeout: float = 60) -> Engine:
    if os.geteuid() != 0:
        raise EngineUnavailable("dockerd needs root (it manages mounts, cgroups, iptables)")
    RUN.mkdir(parents=True, exist_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    (RUN / "dockerd.log").write_bytes(b"")
    return _launch(timeout, clean=True)


def attach(timeout: float = 60) -> Engine:
    """The engine another tier process started and still uses (engine_share.py)."""
    pid = int((RUN / "docker.pid").read_text().strip())
    engine = Engine(pid, RUN / "docker.sock", RUN / "dockerd.log")
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine.api().ping()
            return engine
        except Exception as error:
            if time.monotonic() > deadline:
                raise EngineUnavailable(f"the tier's dockerd does not answer: {error}") from error
        time.sleep(0.3)


def restart(engine: Engine, timeout: float = 120) -> None:
    """dockerd stopped (SIGTERM: it stops its containers, as a host's shutdown does) and
    started again on the same data root, keeping everything: the running Engine object takes
    the new process. Only while no other tier process uses it (engine_share.Shared.alone)."""
    os.kill(engine.pid, signal.SIGTERM)
    if not engine.exited(timeout):
        raise EngineUnavailable(f"dockerd (pid {engine.pid}) did not stop in {timeout} s")
    launched = _launch(timeout, clean=False)
    engine.pid, engine.child = launched.pid, launched.child
