"""Hosts for the host layer (ansible/): containers on the tier's dockerd that boot systemd as
PID 1, run sshd (Ansible reaches them over SSH, as it reaches hosts) and a dockerd of their
own once the role installs it.

How they differ from a host (../shared/notes/docker-engine.md, "A Swarm of node
containers"): no `--privileged` here (the sandbox lacks CAP_SYS_RESOURCE), so every other
capability, no seccomp or AppArmor profile, the host's cgroup namespace; /var/lib/docker on a
volume (overlay2 cannot sit on the container's own overlay); the kernel is the machine's
(no IPVS, no IPsec ESP); auditd cannot run in a container (the audit netlink socket belongs
to the initial namespaces), so audit rules are checked as files."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import docker.types
import yaml

from tests.docker.engine import Engine
from tools.dev_vault import DevVault

PROJECT = Path(__file__).resolve().parents[2]
ANSIBLE = PROJECT / "ansible"
NODE_FLAGS = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",  # a CLI flag only: empty masked /proc paths
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
)  # fmt: skip
"""What ../shared/notes/docker-engine.md verified for a node with its own dockerd and
systemd, given through the docker CLI as written there."""


@dataclass
class Node:
    engine: Engine
    name: str
    address: str

    def run(self, *command: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
        """A command on the host, as root (through the docker CLI: it streams stdin)."""
        done = subprocess.run(
            ["docker", "-H", self.engine.url, "exec", "-i", self.name, *command],
            input=stdin, capture_output=True, timeout=300,
        )  # fmt: skip
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
        )  # fmt: skip

    def out(self, *command: str) -> str:
        done = self.run(*command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done.stdout

    def docker(self, *arguments: str) -> str:
        """The node's own engine, through its unix socket."""
        return self.out("docker", *arguments)


def start_node(engine: Engine, image: str, name: str, network: str, address: str) -> Node:
    started = subprocess.run(
        ["docker", "-H", engine.url, "run", "-d", "--name", name, "--hostname", name,
         "--network", network, "--ip", address, "-v", f"{name}-docker:/var/lib/docker",
         *NODE_FLAGS, image],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    node = Node(engine, name, address)
    deadline = time.monotonic() + 90
    state = ""
    while time.monotonic() < deadline:
        state = node.run("systemctl", "is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            return node
        time.sleep(1)
    raise AssertionError(f"{name}: systemd did not finish booting ({state!r})")


@dataclass(frozen=True)
class PlayResult:
    returncode: int
    output: str
    changed: dict[str, int]
    failed: dict[str, int]


RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def engines(hosts: dict[str, dict[str, object]]) -> dict[str, object]:
    """An inventory's groups: `hosts` (name -> its variables) in docker_engines."""
    return {"docker_engines": {"hosts": hosts}}


def controller_env(vault: DevVault) -> dict[str, str]:
    """The Vault environment the controller is given, as for `pulumi up`; with the token
    itself, which community.hashi_vault reads (VAULT_TOKEN), not its file."""
    return vault.env() | {"VAULT_TOKEN": vault.token_file.read_text().strip()}


def _addressed(groups: dict[str, object], nodes: dict[str, Node]) -> dict[str, object]:
    """The groups with each known host's `ansible_host` set to its address."""
    found: dict[str, object] = {}
    for key, value in groups.items():
        if key == "hosts" and isinstance(value, dict):
            found[key] = {
                name: {**(given or {}), **({"ansible_host": nodes[name].address}
                                          if name in nodes else {})}
                for name, given in value.items()
            }  # fmt: skip
        elif isinstance(value, dict):
            found[key] = _addressed(value, nodes)
        else:
            found[key] = value
    return found


@dataclass
class Fleet:
    """Booted hosts Ansible reaches over SSH, as it reaches real ones: as root, with a key of
    the test's in its authorized_keys, their host keys pinned in a known_hosts file."""

    nodes: dict[str, Node]
    folder: Path

    @property
    def key(self) -> Path:
        return self.folder / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.folder / "known_hosts"

    def play(
        self, playbook: str, groups: dict[str, object], *options: str,
        env: dict[str, str] | None = None,
    ) -> PlayResult:  # fmt: skip
        """`ansible-playbook` as an operator runs it from ansible/, against an inventory of
        `groups` (under `all.children`)."""
        inventory = self.folder / "hosts.yml"
        ssh = {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} "
            "-o StrictHostKeyChecking=yes",
        }
        document = {"all": {"vars": ssh, "children": _addressed(groups, self.nodes)}}
        inventory.write_text(yaml.safe_dump(document))
        done = subprocess.run(
            [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory),
             f"playbooks/{playbook}", *options],
            cwd=ANSIBLE, capture_output=True, text=True, timeout=900,
            env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                 "HOME": str(self.folder), "ANSIBLE_NOCOLOR": "1", **(env or {})},
        )  # fmt: skip
        output = done.stdout + done.stderr
        changed = {m[1]: int(m[2]) for m in RECAP.finditer(output)}
        failed = {m[1]: int(m[4]) + int(m[3]) for m in RECAP.finditer(output)}
        return PlayResult(done.returncode, output, changed, failed)


def _admit(fleet: Fleet) -> None:
    """The test's key into every host's authorized_keys; their host keys into known_hosts."""
    if not fleet.key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(fleet.key)],
                       check=True)  # fmt: skip
    public = fleet.key.with_suffix(".pub").read_bytes()
    pinned = []
    for node in fleet.nodes.values():
        done = node.run(
            "sh", "-c", "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys",
            stdin=public,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 30
        scanned = ""
        while not scanned and time.monotonic() < deadline:
            scanned = subprocess.run(
                ["ssh-keyscan", "-t", "ed25519", node.address], capture_output=True, text=True
            ).stdout
            time.sleep(0 if scanned else 1)
        assert scanned, f"{node.name}: sshd does not answer"
        pinned.append(scanned)
    fleet.known_hosts.write_text("".join(pinned))


@contextlib.contextmanager
def bare_hosts(
    engine: Engine, image: str, network: str, subnet: str, addresses: dict[str, str],
    folder: Path,
) -> Iterator[Fleet]:  # fmt: skip
    """Hosts (name -> address) on a network of their own, booted and reachable over SSH;
    removed with their volumes and the network afterwards, whatever happened."""
    client = engine.client()
    pool = docker.types.IPAMPool(subnet=subnet)
    made = client.networks.create(network, ipam=docker.types.IPAMConfig(pool_configs=[pool]))
    try:
        nodes = {n: start_node(engine, image, n, network, a) for n, a in addresses.items()}
        fleet = Fleet(nodes, folder)
        _admit(fleet)
        yield fleet
    finally:
        for name in addresses:
            with contextlib.suppress(docker.errors.NotFound):
                client.containers.get(name).remove(force=True, v=True)
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(f"{name}-docker").remove(force=True)
        made.remove()
