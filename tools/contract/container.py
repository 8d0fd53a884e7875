"""The app under test on the local Docker engine, hardened as the platform runs it: its
uid 10001:10001, a read-only root, no capability, no new privileges, a private noexec
/tmp, its files and its secrets mounted read-only, on an internal network of its own (no
route out; this machine's address on it is where verify's stand-in peers listen). Its files
come from a private folder of this machine bind-mounted into it, so the engine must be the
local one; the secrets folder stays writable from here, which is how a secret is rendered
(by rename, as the sidecar does) while the app runs."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors

from components.app.contract import SECRETS_DIR
from components.docker.spec import CONFIG_DIR
from tools.contract.subject import Subject

APP_UID = 10001


def _private(path: Path, content: str) -> None:
    """A file the app's uid alone reads (when this runs as root; else readable by all: the
    material is throwaway and the folder is removed after the run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".new")
    staged.write_text(content)
    if os.geteuid() == 0:
        os.chown(staged, APP_UID, APP_UID)
        staged.chmod(0o400)
    else:
        staged.chmod(0o444)
    os.replace(staged, path)  # a rename, as the sidecar renders


def _peer_names(env: dict[str, str]) -> set[str]:
    """The hosts the app's environment names (its data services, the proxy, Jaeger, the
    gateway), but its own name."""
    names = {env.get("VOS_POSTGRES_HOST", ""), env.get("VOS_RABBITMQ_HOST", "")}
    for variable in ("VOS_WEAVIATE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "HTTPS_PROXY",
                     "VOS_GATEWAY_URL"):  # fmt: skip
        names.add(urlsplit(env.get(variable, "")).hostname or "")
    return {n for n in names if n} - {env.get("VOS_SERVICE_NAME", "")}


class AppContainer:
    def __init__(self, client: docker.DockerClient, image: str, subject: Subject) -> None:
        self.client, self.subject = client, subject
        self.folder = Path(tempfile.mkdtemp(prefix="vos-contract-"))
        self.folder.chmod(0o755)
        for path, content in subject.files.items():
            _private(self._host(path), content)
        (self.folder / "secrets").mkdir(mode=0o755)
        for path, value in subject.secrets.items():
            if path != subject.withheld:
                _private(self._host(path), value)
        for directory in (p for p in self.folder.rglob("*") if p.is_dir()):
            directory.chmod(0o755)
        self.image = image
        self.network: Any = None
        self.container: Any = None
        try:
            self.network = client.networks.create(
                f"vos-contract-{secrets.token_hex(4)}", internal=True
            )
        except BaseException:
            self.remove()
            raise

    def gateway(self) -> str:
        """This machine's address on the app's network: where a stand-in of a peer listens."""
        self.network.reload()
        return str(self.network.attrs["IPAM"]["Config"][0]["Gateway"])

    def start(
        self, traces: tuple[str, int] | None = None, running: frozenset[str] = frozenset()
    ) -> None:
        """Run the app. With `traces` (an address and port of this machine's), the name in
        its OTLP endpoint points there. `running`: the peers that run on its network (the
        network's DNS names them)."""
        env = dict(self.subject.env)
        # The platform's other services that do not run here: their names point where
        # nothing listens, so a lookup fails at once instead of waiting on a DNS server an
        # internal network cannot reach.
        hosts = dict.fromkeys(_peer_names(env) - running, "127.0.0.1")
        if traces is not None:
            endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"https://{endpoint.hostname}:{traces[1]}"
            hosts[str(endpoint.hostname)] = traces[0]
        self.container = self.client.containers.run(
            self.image,
            name=f"vos-contract-{self.subject.name}-{secrets.token_hex(4)}",
            detach=True,
            user=f"{APP_UID}:{APP_UID}",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},  # noqa: S108 (the container's own)
            environment=env,
            volumes={
                str(self.folder / "etc"): {"bind": CONFIG_DIR, "mode": "ro"},
                str(self.folder / "secrets"): {"bind": SECRETS_DIR, "mode": "ro"},
            },
            extra_hosts=hosts,
            network=self.network.name,
        )
        self.network.disconnect(self.container)
        self.network.connect(self.container, aliases=[self.subject.name])

    def _host(self, path: str) -> Path:
        for inside, outside in ((CONFIG_DIR, "etc"), (SECRETS_DIR, "secrets")):
            if path.startswith(inside + "/"):
                return self.folder / outside / PurePosixPath(path).relative_to(inside)
        raise ValueError(f"not under {CONFIG_DIR} or {SECRETS_DIR}: {path}")

    def render(self, path: str, value: str) -> None:
        """Write a secret file as the sidecar does (a new file renamed over the old)."""
        _private(self._host(path), value)

    def inspect(self) -> dict[str, Any]:
        found: dict[str, Any] = self.client.api.inspect_container(self.container.id)
        return found

    def address(self) -> str:
        networks = self.inspect()["NetworkSettings"]["Networks"]
        return str(networks[self.network.name]["IPAddress"])

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def logs(self) -> str:
        return str(self.container.logs(stdout=True, stderr=False).decode(errors="replace"))

    def exec(self, *command: str) -> tuple[int, str]:
        done = self.container.exec_run(list(command), user=f"{APP_UID}:{APP_UID}")
        return int(done.exit_code), done.output.decode(errors="replace")

    def wait_listening(self, port: int, timeout: float = 60) -> bool:
        """Until the app accepts connections on `port` (False if it exits or never does)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return False
            with socket.socket() as probe:
                probe.settimeout(1)
                if probe.connect_ex((self.address(), port)) == 0:
                    return True
            time.sleep(0.5)
        return False

    def remove(self) -> None:
        """Everything it made, each step whatever the others did."""
        try:
            if self.container is not None:
                with contextlib.suppress(docker.errors.NotFound):
                    self.container.remove(force=True)
        finally:
            try:
                if self.network is not None:
                    with contextlib.suppress(docker.errors.NotFound):
                        self.network.remove()
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)
