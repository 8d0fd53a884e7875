"""Start real OpenBao servers for the tests, on loopback, with the embedded dev Vault code."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Any

import hvac
import pytest

from tools.dev_vault import DevVault


def free_port_pair() -> int:
    """A port p such that p and p+1 (the cluster port) are both free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            with socket.socket() as second:
                second.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of loopback ports")


def free_port_pairs(count: int) -> list[int]:
    """`count` ports as free_port_pair gives them, no two pairs overlapping: each probe
    closes its socket, so the kernel may hand the same port (or its neighbour) out again,
    and a server given one port for two listeners refuses to start (RabbitMQ did, in CI:
    `incompatible_listeners`)."""
    ports: list[int] = []
    for _ in range(50 * count):
        port = free_port_pair()
        if not {port, port + 1} & {q for p in ports for q in (p, p + 1)}:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} distinct free pairs of loopback ports")


def start_server(home: Path) -> DevVault:
    server = DevVault(home, free_port_pair())
    server.start()
    return server


def root_client(server: DevVault) -> hvac.Client:
    """A client of `server` with its root token (the tests' administrator)."""
    return hvac.Client(
        url=server.address, token=server.token_file.read_text(), verify=str(server.ca_file)
    )


def point_at(server: DevVault, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach `server` through the environment, as the Pulumi CLI hands it to providers."""
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)


def secret_props(**changes: Any) -> dict[str, Any]:
    """KvSecret inputs for a fresh path of the test stack."""
    return {
        "mount": "secret",
        "path": f"vos/itest/{secrets.token_hex(4)}/value",
        "data": {"value": "first"},
        "owner": "vos-infra/itest",
        "purge_on_delete": False,
        "insecure_skip_verify": False,
        "version": None,
    } | changes
