"""The Swarm target's services (components/swarm) on the host layer's real three-node Swarm.

A program of two services goes through the Pulumi SDK's mock runtime and the provider's
Swarm resources, performed on the manager's Engine API over mutual TLS
(tests/docker/provider_swarm.py): PostgreSQL from the registry's own spec (server_spec, its
TLS files and bootstrap password) and a client replicated over the app nodes, on an
internal overlay. Their images are pushed to the tier's registry (Debian's docker-registry,
TLS from a CA the host layer made every engine trust) and run by digest. What the kernel
here lacks decides two settings: `dnsrr` endpoints (no IPVS) and unencrypted overlays (no
IPsec ESP; encryption is checked as configuration)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.docker.spec import TLS_DIR, ContainerSpec, Healthcheck, TlsFiles, Upload
from components.postgres import files as pg_files
from components.postgres.containers import server_spec
from components.postgres.roles import ADMIN_ROLE, DATABASE
from components.swarm.networks import SwarmNetworks
from components.swarm.placement import swarm_placement
from components.swarm.service import hardened_service
from tests.docker.engine import Engine
from tests.docker.host_pki import ca, issue
from tests.docker.images import Built
from tests.docker.provider_swarm import SERVICE, SWARM_TYPES
from tests.docker.provider_swarm_read import unmatched
from tests.docker.swarm_apply import SwarmMocks, remove_stack
from tests.docker.swarm_hosts import Swarm
from tests.helpers import profile
from tools.offline.mocks import MockState
from tools.offline.runner import evaluate

pytestmark = pytest.mark.hosts  # run beside the stack's modules (conftest.py)

PREFIX = "vos-sw"
CLIENT_UID = 10001
CLIENT_CONF = "/etc/vos/client.conf"


@dataclass
class Applied:
    swarm: Swarm
    state: MockState
    program: Any
    image: str
    client_image: str
    material: dict[str, str]
    password: str
    admin: tuple[str, str]

    def containers(self, service: str) -> set[str]:
        """The ids of every running container of the service, on every node that answers."""
        found = set()
        for node in self.swarm.nodes.values():
            label = f"label=com.docker.swarm.service.name={PREFIX}-{service}"
            listed = node.run("docker", "ps", "-q", "--filter", label)
            found |= set(listed.stdout.split() if listed.returncode == 0 else [])
        return found

    def tasks(self, service: str) -> dict[str, str]:
        """Node name -> the id of the service's running container there (nodes whose engine
        answers)."""
        found = {}
        for name, node in self.swarm.nodes.items():
            label = f"label=com.docker.swarm.service.name={PREFIX}-{service}"
            listed = node.run("docker", "ps", "-q", "--filter", label)
            ids = listed.stdout.split() if listed.returncode == 0 else []  # its engine is down
            if ids:
                found[name] = ids[0]
        return found

    def up(self, engine: Engine, preview: bool = False, **changes: Any) -> SwarmMocks:
        """`pulumi up` (or preview) of the program with some of its material or the
        client's command changed, on the state of the first."""
        command = changes.pop("command", ("sleep", "infinity"))
        program = _program(self.image, self.client_image, {**self.material, **changes}, command)
        mocks = SwarmMocks(engine, self.swarm, self.state, preview=preview)
        evaluate("dev", program=program, mocks=mocks, preview=preview)
        mocks.finish()
        return mocks

    def exec(self, node: str, container: str, *command: str) -> tuple[int, str]:
        done = self.swarm.nodes[node].run("docker", "exec", container, *command)
        return done.returncode, done.stdout + done.stderr


def _program(
    image: str, client_image: str, material: dict[str, str],
    command: tuple[str, ...] = ("sleep", "infinity"),
) -> Any:  # fmt: skip
    def program() -> None:
        networks = SwarmNetworks("swarm-networks", PREFIX, encrypted=False, egress=False)
        tls = TlsFiles(material["cert"], material["key"], material["ca"])
        postgres = server_spec(image, pg_files.pg_hba_conf([]), tls, material["password"])
        backend = [networks.backend.id]
        hardened_service(
            "postgres", postgres,
            swarm_placement(postgres, name_prefix=PREFIX, stack="swarm", networks=backend,
                            memory_mb=512, cpus=1.0, endpoint_mode="dnsrr"),
            networks,
        )  # fmt: skip
        client = ContainerSpec(
            service="client", image=client_image, command=list(command),
            user=f"{CLIENT_UID}:{CLIENT_UID}",
            uploads=[
                Upload(f"{TLS_DIR}/ca.crt", material["ca"], CLIENT_UID),
                Upload(CLIENT_CONF, material["client_conf"], CLIENT_UID),
                Upload(f"{TLS_DIR}/admin.crt", material["admin_cert"], CLIENT_UID),
                Upload(f"{TLS_DIR}/admin.key", material["admin_key"], CLIENT_UID, "0400",
                       secret=True),
            ],
            healthcheck=Healthcheck(["test", "-r", f"{TLS_DIR}/admin.key"], interval="2s",
                                    start_period="1s"),
        )  # fmt: skip
        hardened_service(
            "client", client,
            swarm_placement(client, name_prefix=PREFIX, stack="swarm", networks=backend,
                            memory_mb=128, cpus=0.25, endpoint_mode="dnsrr", replicas=2,
                            app=True),
            networks,
        )  # fmt: skip

    return program


@pytest.fixture(scope="module")
def applied(engine: Engine, stand_ins: Built, swarm: Swarm) -> Iterator[Applied]:
    # Pushed to the tier's registry from the manager; every node pulls them by digest.
    image = swarm.push(profile("dev")["services"]["postgres"]["image"], "vos/postgres")
    client_image = swarm.push(stand_ins.tags["client"], "vos/client")
    authority = ca("swarm services CA")
    server = issue(authority, "postgres", "server_auth", names=("postgres",))
    admin = issue(authority, ADMIN_ROLE, "client_auth")
    material = {"ca": authority.cert, "cert": server.cert, "key": server.key,
                "password": secrets.token_urlsafe(24), "admin_cert": admin.cert,
                "admin_key": admin.key, "client_conf": "generation = 1\n"}  # fmt: skip
    state = MockState()
    mocks = SwarmMocks(engine, swarm, state)
    program = _program(image, client_image, material)
    made = Applied(swarm, state, program, image, client_image, material,
                   material["password"], (admin.cert, admin.key))  # fmt: skip
    try:
        evaluate("dev", program=program, mocks=mocks)
        mocks.finish()
        yield made
    finally:
        remove_stack(swarm.api(), "swarm", PREFIX)


def test_each_service_runs_where_its_kind_belongs(applied: Applied) -> None:
    # Stateful: one task on the data node; stateless: spread over the app nodes.
    assert set(applied.tasks("postgres")) == {"vos-swarm-m1"}
    assert set(applied.tasks("client")) == {"vos-swarm-w1", "vos-swarm-w2"}


def test_swarm_dns_answers_every_task_of_a_service_by_its_alias(applied: Applied) -> None:
    # How Prometheus finds each replica of an app (components/prometheus/files.py
    # _tasks_job): `tasks.<alias>` names the address of every running task.
    tasks = applied.tasks("client")
    addresses = set()
    for node, container in tasks.items():
        shown = applied.swarm.nodes[node].run(
            "docker", "inspect", "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container,
        )  # fmt: skip
        addresses |= set(shown.stdout.split())
    node, container = next(iter(tasks.items()))
    code, out = applied.exec(node, container, "getent", "ahostsv4", "tasks.client")
    assert code == 0, out
    assert {line.split()[0] for line in out.splitlines() if line.strip()} == addresses
    assert len(addresses) == len(tasks) == 2


def test_nodes_run_the_images_they_pulled_by_digest_from_the_registry(applied: Applied) -> None:
    for service, image in (("postgres", applied.image), ("client", applied.client_image)):
        assert "@sha256:" in image
        for node, container in applied.tasks(service).items():
            seen = json.loads(applied.swarm.nodes[node].docker("inspect", container))[0]
            assert seen["Config"]["Image"] == image, (service, node)
    # The app nodes never had the client image but from the registry.
    for node in ("vos-swarm-w1", "vos-swarm-w2"):
        digests = applied.swarm.nodes[node].docker("image", "ls", "--digests", "--format",
                                                   "{{.Repository}}@{{.Digest}}")  # fmt: skip
        assert applied.client_image in digests.split(), digests


def test_tasks_run_hardened(applied: Applied) -> None:
    for service, uid in (("postgres", "999"), ("client", str(CLIENT_UID))):
        for node, container in applied.tasks(service).items():
            seen = json.loads(applied.swarm.nodes[node].docker("inspect", container))[0]
            host = seen["HostConfig"]
            assert host["ReadonlyRootfs"] is True, (service, node)
            assert host["CapDrop"] == ["ALL"], (service, node)
            assert seen["Config"]["User"].split(":")[0] == uid
            assert host["Memory"] > 0 and host["NanoCpus"] > 0
            # The engine's daemon.json (host layer) gives what a Swarm service cannot say.
            code, status = applied.exec(node, container, "grep", "NoNewPrivs", "/proc/1/status")
            assert code == 0 and status.split()[-1] == "1", status
            code, _ = applied.exec(node, container, "touch", "/written")
            assert code != 0, f"{service} on {node} wrote to its root filesystem"


def test_files_arrive_with_their_owner_and_mode_and_secrets_only_in_memory(
    applied: Applied,
) -> None:
    [(node, container)] = applied.tasks("postgres").items()
    for path, wanted in ((f"{TLS_DIR}/server.key", "999 600"), (pg_files.CONF, "999 444"),
                         (pg_files.BOOTSTRAP_PASSWORD_FILE, "999 400")):  # fmt: skip
        code, out = applied.exec(node, container, "stat", "-c", "%u %a", path)
        assert code == 0 and out.strip() == wanted, (path, out)
    code, mounts = applied.exec(node, container, "cat", "/proc/self/mountinfo")
    key_mount = [line for line in mounts.splitlines() if f" {TLS_DIR}/server.key " in line]
    assert key_mount and " - tmpfs " in key_mount[0], key_mount
    # Nowhere on the node's disk: not in the Swarm's store, not beside the container.
    host = applied.swarm.nodes[node]
    found = host.run("sh", "-c", "find /var/lib/docker/swarm /var/lib/docker/containers -xdev "
                     "-type f -exec grep -l -F -e \"$0\" {} +", applied.password)  # fmt: skip
    assert found.stdout.strip() == "", found.stdout


def test_a_client_on_another_node_reaches_postgres_over_tls_only(applied: Applied) -> None:
    node, container = sorted(applied.tasks("client").items())[0]
    query = ["psql", pg_files.admin_conninfo(), "-tAc", "select 1"]
    code, out = applied.exec(node, container, *query)
    assert code == 0 and out.strip() == "1", out
    plain = [f"host=postgres port={pg_files.PORT} dbname={DATABASE} "
             f"user={ADMIN_ROLE} sslmode=disable", "-tAc", "select 1"]  # fmt: skip
    code, out = applied.exec(node, container, "psql", *plain)
    assert code != 0 and "no encryption" in out, out


def test_a_second_up_changes_nothing(engine: Engine, applied: Applied) -> None:
    """What the provider reads back (durations, ratios, network ids, file modes) is what the
    program sets: the preview after the `up` finds every Swarm resource the same."""
    again = applied.up(engine, preview=True)
    swarm_steps = {k: v for k, v in again.steps.items() if k[0] in SWARM_TYPES}
    # 3 networks, 2 services, 7 configs (PostgreSQL's 4, the client's 3), 3 secrets
    assert len(swarm_steps) == 15
    changed = {
        name: unmatched(applied.state.entries[(type_, name)].outputs,
                        applied.state.entries[(type_, name)].inputs)
        for (type_, name), step in swarm_steps.items() if step != "same"
    }  # fmt: skip
    assert changed == {}


class RunningTasks:
    """The fewest running tasks of a service seen while something happens (polled)."""

    def __init__(self, applied: Applied, service: str) -> None:
        self.api, self.service = applied.swarm.api(), f"{PREFIX}-{service}"
        self.fewest: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def count(self) -> int:
        tasks = self.api.tasks(filters={"service": self.service, "desired-state": "running"})
        return sum(1 for t in tasks if t["Status"]["State"] == "running")

    def _watch(self) -> None:
        while not self._stop.is_set():
            seen = self.count()
            self.fewest = seen if self.fewest is None else min(self.fewest, seen)
            time.sleep(0.3)

    def __enter__(self) -> RunningTasks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _config_names(applied: Applied) -> set[str]:
    return {c["Spec"]["Name"] for c in applied.swarm.api().configs(filters={"name": PREFIX})}


def test_a_changed_file_rolls_the_service_start_first_never_below_its_replicas(
    engine: Engine, applied: Applied
) -> None:
    before = _config_names(applied)
    old_tasks = applied.containers("client")
    with RunningTasks(applied, "client") as watched:
        mocks = applied.up(engine, client_conf="generation = 2\n")
        # The provider's converge may end between two tasks (its per-slot count sees the
        # slot not updated yet as running): Swarm goes on rolling after `up` returned.
        applied.swarm.wait_update(f"{PREFIX}-client")
    assert mocks.steps[(SERVICE, "client")] == "update"
    assert watched.fewest == 2, "a task stopped before its successor ran"
    # Replaced, on the app nodes (Swarm places each new task while the old ones still run,
    # and never rebalances: both may land on one node).
    assert len(applied.containers("client")) == 2
    assert not old_tasks & applied.containers("client")
    new_tasks = applied.tasks("client")
    assert set(new_tasks) <= {"vos-swarm-w1", "vos-swarm-w2"}
    node, container = next(iter(new_tasks.items()))
    assert applied.exec(node, container, "cat", CLIENT_CONF) == (0, "generation = 2\n")
    # The old config went once the service let go of it; the new one is there.
    after = _config_names(applied)
    assert len(after) == len(before) and after != before
    applied.material["client_conf"] = "generation = 2\n"


def test_an_update_that_fails_rolls_back_by_itself(engine: Engine, applied: Applied) -> None:
    running = applied.containers("client")
    with pytest.raises(Exception, match="rollback"):
        applied.up(engine, client_conf=applied.material["client_conf"], command=("false",))
    # The provider fails the `up` once the rollback started and the old tasks run; Swarm
    # finishes the rollback on its own.
    applied.swarm.wait_update(f"{PREFIX}-client", "rollback_completed")
    seen = applied.swarm.api().inspect_service(f"{PREFIX}-client")
    assert seen["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == ["sleep", "infinity"]
    assert RunningTasks(applied, "client").count() == 2
    assert applied.containers("client") == running  # the old tasks never stopped
    # The state kept what ran before, which is what runs again: nothing to change.
    again = applied.up(engine, preview=True)
    assert again.steps[(SERVICE, "client")] == "same"


def test_a_lost_worker_s_tasks_are_rescheduled_on_the_nodes_left(applied: Applied) -> None:
    with applied.swarm.lost("vos-swarm-w2") as lost:
        # Until the manager has both tasks running on one node and that node's engine runs
        # them (its listing may trail the manager's record on two busy cores).
        deadline = time.monotonic() + 180
        while True:
            tasks = applied.swarm.api().tasks(
                filters={"service": f"{PREFIX}-client", "desired-state": "running"}
            )
            states = [(t["NodeID"][:8], t["Status"]["State"]) for t in tasks]
            on = [t["NodeID"] for t in tasks if t["Status"]["State"] == "running"]
            local = set(applied.tasks("client"))
            if len(on) == 2 and len(set(on)) == 1 and local == {"vos-swarm-w1"}:
                break
            assert time.monotonic() < deadline, (states, local)
            time.sleep(2)
        assert lost.run("docker", "info").returncode != 0, "the lost node's engine came back"
        assert RunningTasks(applied, "client").count() == 2
