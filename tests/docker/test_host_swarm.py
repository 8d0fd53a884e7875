"""The host layer's swarm role (ansible/playbooks/swarm.yml): three bare Debian hosts become
hardened engines and one Swarm, as the inventory says, with its unlock key in the tier's
Vault (OpenBao, through hvac on the controller).

What the kernel here cannot do (no IPVS, no IPsec ESP) does not matter to forming the Swarm.
The Swarm (tests/docker/swarm_hosts.py, conftest's `swarm`) is the one the services module
ran on before this one."""

from __future__ import annotations

import json
import time

import pytest

from tests.docker.swarm_hosts import ADDRESSES, API_PORT, LABELS, OUTSIDER, Swarm, inventory

pytestmark = pytest.mark.hosts  # run beside the stack's modules (conftest.py)


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
    for port in (2377, 7946, 2375, 8080, API_PORT):
        assert swarm.reach(OUTSIDER, "vos-swarm-m1", port) == "dropped", port
    # The Engine API answers the controller alone (the services module used it), not a peer.
    assert swarm.reach("vos-swarm-w1", "vos-swarm-m1", API_PORT) == "dropped"
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
