"""The embedded development Vault: real `bao`, TLS on, initialized once, reusable."""

from __future__ import annotations

import json
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
import requests

from tests.integration.vault_server import free_port_pair
from tools.dev_vault import HOST_GATEWAY, DevVault, DevVaultError


def _cli(home: Path, port: int, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.cli.main",
            "vault",
            action,
            "--home",
            str(home),
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_reuse_stop_restart_keeps_data(tmp_path: Path) -> None:
    home, port = tmp_path / "vault", free_port_pair()
    first = _cli(home, port, "start")
    assert first.returncode == 0, first.stderr
    assert "started a new server, initialized it, unsealed it" in first.stdout
    try:
        pid = (home / "bao.pid").read_text()
        again = _cli(home, port, "start")
        assert "reused the running server" in again.stdout
        assert (home / "bao.pid").read_text() == pid

        env = dict(
            line.removeprefix("export ").split("=", 1)
            for line in _cli(home, port, "env").stdout.splitlines()
        )
        assert env["VAULT_ADDR"] == f"https://127.0.0.1:{port}"
        token = Path(env["VAULT_TOKEN_FILE"]).read_text()
        client = hvac.Client(url=env["VAULT_ADDR"], token=token, verify=env["VAULT_CACERT"])
        client.secrets.kv.v2.create_or_update_secret(
            path="probe", secret={"v": "1"}, mount_point="secret"
        )
        assert "approle/" in client.sys.list_auth_methods()["data"]

        # secrets of the dev default are kept 0600 in a 0700 folder
        for name in ("init.json", "root-token", "tls/server-key.pem", "config.hcl"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert set(json.loads((home / "init.json").read_text())) == {
            "unseal_keys_b64",
            "root_token",
        }

        # TLS only: plain HTTP on the same port is refused by the server
        plain = requests.get(f"http://127.0.0.1:{port}/v1/sys/health", timeout=5)
        assert plain.status_code == 400

        stopped = _cli(home, port, "stop")
        assert "stopped; data kept" in stopped.stdout
        assert "not running" in _cli(home, port, "status").stdout

        restarted = _cli(home, port, "start")
        assert "started a new server, unsealed it" in restarted.stdout
        assert "initialized" not in restarted.stdout
        client = hvac.Client(url=env["VAULT_ADDR"], token=token, verify=env["VAULT_CACERT"])
        kept = client.secrets.kv.v2.read_secret_version(
            path="probe", mount_point="secret", raise_on_deleted_version=True
        )
        assert kept["data"]["data"] == {"v": "1"}
    finally:
        _cli(home, port, "stop")


def test_a_port_in_use_is_said_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = DevVault(tmp_path / "vault", port)
        with pytest.raises(DevVaultError) as caught:
            server.start()
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is in use" in message and "--port" in message
    assert "\n" not in message and server._pid() is None


def test_env_before_the_first_start_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DevVaultError, match=r"has not been started yet.*scripts/vault.sh start"):
        DevVault(tmp_path / "never", 18200).env()


@pytest.fixture
def bridge() -> Iterator[tuple[str, str]]:
    """A bridge with an address of its own, standing in for Docker's docker0 (the
    address `host-gateway` resolves to); needs root, like the Docker tier."""
    name, address = "vostest0", "10.213.47.1"
    subprocess.run(["ip", "link", "del", name], capture_output=True)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name, address
    finally:
        subprocess.run(["ip", "link", "del", name], check=True)


def _handshake(host: str, port: int, name: str, ca: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((host, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name),
    ):
        pass


def test_containers_reach_it_on_the_docker_bridge_as_host_docker_internal(
    tmp_path: Path, bridge: tuple[str, str]
) -> None:
    name, address = bridge
    server = DevVault(tmp_path / "vault", free_port_pair(), bridge=name)
    message = server.start()
    try:
        assert f"containers reach it at https://{HOST_GATEWAY}:{server.port}" in message
        # what a sidecar does: dial the host gateway, verify the name host.docker.internal
        _handshake(address, server.port, HOST_GATEWAY, server.ca_file)
        # loopback keeps answering for pulumi
        _handshake("127.0.0.1", server.port, "localhost", server.ca_file)
        # control: a name the certificate does not carry is refused
        with pytest.raises(ssl.SSLCertVerificationError):
            _handshake(address, server.port, "vault.example.org", server.ca_file)
    finally:
        server.stop()


def test_without_a_docker_bridge_it_listens_on_loopback_only_and_says_so(tmp_path: Path) -> None:
    server = DevVault(tmp_path / "vault", free_port_pair(), bridge="vosmissing0")
    message = server.start()
    try:
        assert "containers cannot reach it (no Docker bridge vosmissing0 yet)" in message
        assert server.container_address is None
        _handshake("127.0.0.1", server.port, HOST_GATEWAY, server.ca_file)
    finally:
        server.stop()


def test_a_server_started_before_docker_is_restarted_on_the_bridge_when_it_appears(
    tmp_path: Path,
) -> None:
    name, address = "vostest1", "10.213.48.1"
    subprocess.run(["ip", "link", "del", name], capture_output=True)
    server = DevVault(tmp_path / "vault", free_port_pair(), bridge=name)
    assert "containers cannot reach it" in server.start()  # no bridge yet
    try:
        subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        again = server.start()
        assert "restarted the server on its new configuration" in again, again
        assert "unsealed it" in again and "containers reach it" in again
        _handshake(address, server.port, HOST_GATEWAY, server.ca_file)
        assert "reused the running server" in server.start()  # nothing changed since
    finally:
        server.stop()
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_a_home_from_before_the_audit_log_moved_starts_and_audits_into_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dev Vault made when its audit device was `vos-audit`, 0600, in the home itself:
    OpenBao refuses to unseal on a declared device whose options changed, so the new
    device has a name of its own and replaces the old one."""
    import tools.dev_vault as dev_vault

    home, port = tmp_path / "vault", free_port_pair()
    new_config = DevVault._config
    with monkeypatch.context() as before:
        before.setattr(dev_vault, "AUDIT_PATH", "vos-audit")
        before.setattr(DevVault, "audit_file", property(lambda self: self.home / "audit.log"))

        def old_config(self: DevVault) -> Path:
            path = new_config(self)
            path.write_text(path.read_text().replace('"0644"', '"0600"'))
            return path

        before.setattr(DevVault, "_config", old_config)
        DevVault(home, port=port).start()
        DevVault(home, port=port).stop()
    vault = DevVault(home, port=port)
    try:
        assert "unsealed" in vault.start()
        devices = vault.root_client().sys.list_enabled_audit_devices()["data"]
        assert list(devices) == [f"{dev_vault.AUDIT_PATH}/"]
        assert vault.audit_file == home / "audit" / "audit.log"
        assert stat.S_IMODE(vault.audit_file.stat().st_mode) == 0o644
        assert stat.S_IMODE(vault.audit_file.parent.stat().st_mode) == 0o755
    finally:
        vault.stop()
