"""The host layer's swarm role (ansible/playbooks/swarm.yml): three bare Debian hosts become
hardened engines and one Swarm, as the inventory says, with its unlock key in the tier's
Vault (OpenBao, through hvac on the controller).

What the kernel here cannot do (no IPVS, no IPsec ESP) does not matter to forming the Swarm:
no service runs in it here (issue 25 runs the platform on it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docker.engine import Engine
from tests.docker.images import Built
from tests.docker.nodes import Fleet, Node, PlayResult, bare_hosts, controller_env
from tools.dev_vault import KV_MOUNT, DevVault

SUBNET = "10.232.0.0/24"
ADDRESSES = {"vos-swarm-m1": "10.232.0.11", "vos-swarm-w1": "10.232.0.12",
             "vos-swarm-w2": "10.232.0.13"}  # fmt: skip
LABELS = {"vos-swarm-m1": {"data": "true"}, "vos-swarm-w1": {"edge": "true", "apps": "true"},
          "vos-swarm-w2": {"apps": "true"}}  # fmt: skip
KEY_PATH = "vos/hosts/tier/swarm-unlock-key"
OUTSIDER = "10.232.0.99"
"""A machine on the hosts' network that is not in the inventory."""
PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open")
except ConnectionRefusedError:
    print("refused")  # let through, nothing listens
except (TimeoutError, socket.timeout):
    print("dropped")
"""


def inventory(workers: tuple[str, ...] = ("vos-swarm-w1", "vos-swarm-w2")) -> dict[str, object]:
    def host(name: str) -> dict[str, object]:
        return {"swarm_address": ADDRESSES[name], "swarm_labels": LABELS[name]}

    return {
        "docker_engines": {
            "children": {
                "swarm_managers": {"hosts": {"vos-swarm-m1": host("vos-swarm-m1")}},
                "swarm_workers": {"hosts": {w: host(w) for w in workers}},
            },
            "vars": {"docker_engine_swarm_node": True, "swarm_cluster": "tier",
                     # no CAP_SYS_RESOURCE here: a limit below the node's own
                     "docker_engine_default_ulimits": {
                         "nofile": {"Name": "nofile", "Soft": 4096, "Hard": 4096}}},
        }
    }  # fmt: skip


@dataclass
class Swarm:
    engine: Engine
    fleet: Fleet
    folder: Path
    vault: DevVault
    client_image: str
    first: PlayResult

    @property
    def nodes(self) -> dict[str, Node]:
        return self.fleet.nodes

    @property
    def manager(self) -> Node:
        return self.nodes["vos-swarm-m1"]

    def play(self, *options: str, workers: tuple[str, ...] | None = None) -> PlayResult:
        groups = inventory(workers) if workers is not None else inventory()
        return self.fleet.play("swarm.yml", groups, *options, env=controller_env(self.vault))

    def stored_key(self) -> str:
        read = self.vault.root_client().secrets.kv.v2.read_secret_version(
            path=KEY_PATH, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        return str(read["data"]["data"]["key"])

    def reach(self, origin: str, target: str, port: int) -> str:
        """`open`, `refused` or `dropped`: a TCP connection from a Swarm host (or from
        OUTSIDER) to a host's port."""
        address = ADDRESSES[target]
        if origin == OUTSIDER:
            out = self.engine.client().containers.run(
                self.client_image, ["python3", "-c", PROBE, address, str(port)],
                network="vos-swarm", remove=True,
            )  # fmt: skip
            return str(out.decode()).strip()
        return self.nodes[origin].out("python3", "-c", PROBE, address, str(port)).strip()

    def nodes_seen(self) -> dict[str, dict[str, object]]:
        """Hostname -> the manager's view of the node."""
        ids = self.manager.docker("node", "ls", "--quiet").split()
        inspected = json.loads(self.manager.docker("node", "inspect", *ids))
        return {n["Description"]["Hostname"]: n for n in inspected}


@pytest.fixture(scope="module")
def swarm(
    engine: Engine, stand_ins: Built, vault: DevVault, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Swarm]:
    folder = tmp_path_factory.mktemp("host-swarm")
    node = stand_ins.tags["node"]
    with bare_hosts(engine, node, "vos-swarm", SUBNET, ADDRESSES, folder) as fleet:
        made = Swarm(
            engine, fleet, folder, vault, stand_ins.tags["client"], PlayResult(0, "", {}, {})
        )
        made.first = made.play()
        yield made


def test_the_inventory_becomes_one_swarm(swarm: Swarm) -> None:
    assert swarm.first.returncode == 0, swarm.first.output
    seen = swarm.nodes_seen()
    assert set(seen) == set(ADDRESSES)
    for name, node in seen.items():
        assert node["Status"]["State"] == "ready", name  # type: ignore[index]
        assert node["Spec"]["Labels"] == LABELS[name], name  # type: ignore[index]
        role = "manager" if name == "vos-swarm-m1" else "worker"
        assert node["Spec"]["Role"] == role, name  # type: ignore[index]
        assert node["Status"]["Addr"] == ADDRESSES[name], name  # type: ignore[index]
    for node in swarm.nodes.values():  # live-restore off: Swarm mode refuses it
        assert json.loads(node.docker("info", "--format", "{{json .LiveRestoreEnabled}}")) is False


def test_swarm_ports_answer_the_inventory_hosts_only(swarm: Swarm) -> None:
    assert swarm.reach("vos-swarm-w1", "vos-swarm-m1", 2377) == "open"
    assert swarm.reach("vos-swarm-w1", "vos-swarm-m1", 7946) == "open"
    for port in (2377, 7946, 2375, 8080):
        assert swarm.reach(OUTSIDER, "vos-swarm-m1", port) == "dropped", port
    assert swarm.reach(OUTSIDER, "vos-swarm-m1", 22) == "open"  # SSH is let through
    listed = swarm.manager.out("nft", "list", "table", "inet", "vos_host")
    assert "policy drop" in listed
    # Docker's own rules are Docker's: its tables are still there.
    assert "DOCKER" in swarm.manager.out("iptables-save")


def test_the_unlock_key_is_in_vault_and_never_printed(swarm: Swarm) -> None:
    key = swarm.manager.docker("swarm", "unlock-key", "--quiet").strip()
    assert key.startswith("SWMKEY-1-") and swarm.stored_key() == key
    assert key not in swarm.first.output
    token = swarm.manager.docker("swarm", "join-token", "--quiet", "worker").strip()
    assert token not in swarm.first.output


def test_a_restarted_manager_stays_locked_until_the_key_from_vault_unlocks_it(
    swarm: Swarm,
) -> None:
    swarm.manager.out("systemctl", "restart", "docker")

    def state() -> str:
        done = swarm.manager.run("docker", "info", "--format", "{{json .Swarm.LocalNodeState}}")
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else ""

    deadline = time.monotonic() + 60  # until the engine answers again
    while not state() and time.monotonic() < deadline:
        time.sleep(1)
    assert state() == "locked"
    assert swarm.manager.run("docker", "node", "ls").returncode != 0
    again = swarm.play("--diff")
    assert again.returncode == 0, again.output
    assert again.changed["vos-swarm-m1"] > 0 and again.changed["vos-swarm-w1"] == 0
    assert swarm.stored_key() not in again.output
    assert len(swarm.nodes_seen()) == 3


def test_a_second_run_changes_nothing(swarm: Swarm) -> None:
    again = swarm.play("--diff")
    assert again.returncode == 0, again.output
    assert set(again.changed.values()) == {0}, again.output


def test_tokens_and_the_unlock_key_rotate_on_demand(swarm: Swarm) -> None:
    token = swarm.manager.docker("swarm", "join-token", "--quiet", "worker").strip()
    key = swarm.stored_key()
    rotated = swarm.play(
        "-e", "swarm_rotate_join_tokens=true", "-e", "swarm_rotate_unlock_key=true"
    )
    assert rotated.returncode == 0, rotated.output
    new_token = swarm.manager.docker("swarm", "join-token", "--quiet", "worker").strip()
    new_key = swarm.manager.docker("swarm", "unlock-key", "--quiet").strip()
    assert new_token != token and new_key != key
    assert swarm.stored_key() == new_key
    for secret in (token, new_token, key, new_key):
        assert secret not in rotated.output


def test_a_host_removed_from_the_inventory_is_drained_and_leaves(swarm: Swarm) -> None:
    removed = swarm.play(workers=("vos-swarm-w1",))
    assert removed.returncode == 0, removed.output
    assert set(swarm.nodes_seen()) == {"vos-swarm-m1", "vos-swarm-w1"}
    assert swarm.reach("vos-swarm-w2", "vos-swarm-m1", 2377) == "dropped"  # no longer a peer


def test_an_even_number_of_managers_is_refused_before_anything_changes(swarm: Swarm) -> None:
    groups = inventory()
    children = groups["docker_engines"]["children"]  # type: ignore[index]
    children["swarm_managers"]["hosts"]["vos-swarm-w1"] = children["swarm_workers"]["hosts"].pop(
        "vos-swarm-w1"
    )  # type: ignore[index]
    before = swarm.nodes["vos-swarm-w1"].out("sha256sum", "/etc/docker/daemon.json")
    refused = swarm.fleet.play("swarm.yml", groups)
    assert refused.returncode != 0
    assert "odd number of managers" in refused.output
    assert set(refused.changed.values()) == {0}
    assert swarm.nodes["vos-swarm-w1"].out("sha256sum", "/etc/docker/daemon.json") == before
