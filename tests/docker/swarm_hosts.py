"""The Swarm the host layer forms for the tier (ansible/playbooks/swarm.yml): three bare
Debian hosts as node containers (tests/docker/nodes.py), one manager with its Engine API on
TCP with mutual TLS (the client files the play writes are how the tests reach it, as Pulumi's
Docker provider would), the labels the Swarm target places services by. Shared by the host
layer's swarm module and the Swarm services module (conftest's `swarm` fixture)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.tls

from tests.docker.engine import Engine
from tests.docker.host_pki import ca, issue
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


MANAGER = "vos-swarm-m1"
REGISTRY_ADDRESS = "10.232.0.5"
REGISTRY = f"{REGISTRY_ADDRESS}:5000"
"""The tier's image registry (tests/docker/images/registry) on the hosts' network."""
REGISTRY_CONFIG = """version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
http:
  addr: 0.0.0.0:5000
  tls:
    certificate: /etc/vos/registry.crt
    key: /etc/vos/registry.key
"""
API_PORT = 2376
CONTROLLER = "10.232.0.1"
"""This machine on the hosts' network (its bridge's gateway): where the tests, as Pulumi's
Docker provider would, reach the manager's Engine API."""


def inventory(
    workers: tuple[str, ...] = ("vos-swarm-w1", "vos-swarm-w2"),
    client_dir: Path | None = None,
    registry_ca: str | None = None,
) -> dict[str, object]:
    """The Swarm's inventory; with `client_dir`, the manager opens its Engine API on TCP with
    mutual TLS to this machine alone, the client's files written there; with `registry_ca`,
    every engine trusts the tier's registry with that CA."""
    api = {} if client_dir is None else {
        "docker_engine_api_tcp": f"{ADDRESSES[MANAGER]}:{API_PORT}",
        "docker_engine_api_client_dir": str(client_dir),
        "host_firewall_api_clients": [CONTROLLER],
    }  # fmt: skip

    def host(name: str) -> dict[str, object]:
        return {"swarm_address": ADDRESSES[name], "swarm_labels": LABELS[name],
                **(api if name == MANAGER else {})}  # fmt: skip

    return {
        "docker_engines": {
            "children": {
                "swarm_managers": {"hosts": {"vos-swarm-m1": host("vos-swarm-m1")}},
                "swarm_workers": {"hosts": {w: host(w) for w in workers}},
            },
            "vars": {"docker_engine_swarm_node": True, "swarm_cluster": "tier",
                     "docker_engine_cluster": "tier",
                     "docker_engine_registry_cas": {REGISTRY: registry_ca} if registry_ca else {},
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
    registry_ca: str = ""

    @property
    def nodes(self) -> dict[str, Node]:
        return self.fleet.nodes

    @property
    def manager(self) -> Node:
        return self.nodes[MANAGER]

    @property
    def client_dir(self) -> Path:
        return self.folder / "client"

    def play(self, *options: str, workers: tuple[str, ...] | None = None) -> PlayResult:
        groups = inventory(
            workers or ("vos-swarm-w1", "vos-swarm-w2"), self.client_dir, self.registry_ca
        )
        return self.fleet.play("swarm.yml", groups, *options, env=controller_env(self.vault))

    def api(self) -> docker.APIClient:
        """The manager's Engine API over TCP, with the client certificate the play wrote
        (DOCKER_CERT_PATH's layout), verified against the host layer's CA."""
        tls = docker.tls.TLSConfig(
            client_cert=(str(self.client_dir / "cert.pem"), str(self.client_dir / "key.pem")),
            ca_cert=str(self.client_dir / "ca.pem"),
            verify=True,
        )
        client = docker.APIClient(
            base_url=f"https://{ADDRESSES[MANAGER]}:{API_PORT}", tls=tls, timeout=120,
            version="1.41",
        )  # fmt: skip
        # requests would let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on some machines)
        # replace the CA given here (Session.merge_environment_settings): the host layer's
        # CA alone counts, as for the provider's Go client.
        client.trust_env = False
        return client

    def push(self, reference: str, repository: str) -> str:
        """An image of the tier's engine into the registry, from the manager (as a build host
        pushes it): loaded there, pushed over verified TLS; its reference by digest."""
        self.load_image(reference, MANAGER)
        target = f"{REGISTRY}/{repository}"
        self.manager.docker("tag", reference, target)
        self.manager.docker("push", target)
        digests = json.loads(self.manager.docker("image", "inspect", "--format",
                                                 "{{json .RepoDigests}}", target))  # fmt: skip
        [pinned] = [d for d in digests if d.startswith(f"{REGISTRY}/{repository}@sha256:")]
        return str(pinned)

    def load_image(self, reference: str, *nodes: str) -> None:
        """An image of the tier's engine onto nodes (no registry here): docker save | load."""
        archive = b"".join(self.engine.api().get_image(reference))
        for name in nodes:
            done = self.nodes[name].run("docker", "load", stdin=archive)
            assert done.returncode == 0, done.stderr

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

    def update_state(self, service: str) -> str | None:
        """Swarm's own update status of the service (its full name): `completed`,
        `rollback_completed`, ...; the provider's converge may return between two tasks
        while Swarm goes on rolling."""
        seen = self.api().inspect_service(service)
        return (seen.get("UpdateStatus") or {}).get("State")

    def wait_update(self, service: str, state: str = "completed", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.update_state(service)) != state:
            assert time.monotonic() < deadline, f"{service}: update status {seen}, not {state}"
            time.sleep(1)

    @contextlib.contextmanager
    def lost(self, name: str, back_within: float = 120) -> Iterator[Node]:
        """The node's engine stopped, and its socket: dockerd listens on systemd's
        docker.socket (fd://), so with the service alone stopped the node's first `docker`
        call starts the engine again, which restarts its old tasks before the manager tells
        it otherwise (seen in CI). Started again on leaving, until the manager sees it
        ready (what the modules after need)."""
        node = self.nodes[name]
        node.out("systemctl", "stop", "docker.socket", "docker.service")
        try:
            yield node
        finally:
            node.out("systemctl", "start", "docker.socket", "docker.service")
            deadline = time.monotonic() + back_within
            while self.nodes_seen()[name]["Status"]["State"] != "ready":  # type: ignore[index]
                assert time.monotonic() < deadline, f"{name} did not come back ready"
                time.sleep(2)


@contextlib.contextmanager
def formed_swarm(
    engine: Engine, images: dict[str, str], vault: DevVault, folder: Path
) -> Iterator[Swarm]:
    """Three bare hosts made one Swarm by the host layer's first play (kept in `first`), which
    also makes their engines trust the tier's registry, running beside them."""
    node_image, client_image, registry_image = (images[n] for n in ("node", "client", "registry"))
    with bare_hosts(engine, node_image, "vos-swarm", SUBNET, ADDRESSES, folder) as fleet, \
            _registry(engine, registry_image, folder) as registry_ca:  # fmt: skip
        made = Swarm(engine, fleet, folder, vault, client_image, PlayResult(0, "", {}, {}),
                     registry_ca)  # fmt: skip
        made.first = made.play()
        yield made


@contextlib.contextmanager
def _registry(engine: Engine, image: str, folder: Path) -> Iterator[str]:
    """The registry on the hosts' network with a certificate of a CA of its own: that CA."""
    authority = ca("tier registry CA")
    served = issue(authority, "registry", "server_auth", addresses=(REGISTRY_ADDRESS,))
    files = folder / "registry"
    files.mkdir()
    (files / "registry.yml").write_text(REGISTRY_CONFIG)
    (files / "registry.crt").write_text(served.cert)
    (files / "registry.key").write_text(served.key)
    for path in files.iterdir():
        path.chmod(0o644)  # the registry's own user reads them; throwaway material
    client = engine.client()
    running = client.containers.create(
        image, name="vos-swarm-registry", read_only=True, cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"], network="vos-swarm",
        # A new volume takes the image's folder with its owner: the registry's own user.
        volumes={str(files): {"bind": "/etc/vos", "mode": "ro"},
                 "vos-swarm-registry": {"bind": "/var/lib/docker-registry", "mode": "rw"}},
    )  # fmt: skip
    try:
        client.api.disconnect_container_from_network(running.id, "vos-swarm")
        client.api.connect_container_to_network(
            running.id, "vos-swarm", ipv4_address=REGISTRY_ADDRESS
        )
        running.start()
        yield authority.cert
    finally:
        running.remove(force=True)
        client.volumes.get("vos-swarm-registry").remove(force=True)
