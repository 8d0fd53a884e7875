"""The host layer's docker_engine role (ansible/), run by ansible-playbook as an operator runs
it, on bare Debian hosts (nodes.py: containers booting systemd, on the tier's engine). Each
setting the role claims is checked on the running daemon it made, by what the daemon does,
not by reading the file it wrote.

Two hosts in one run: `socket` keeps the Engine API on the unix socket only, `tcp` opens it
on TCP with mutual TLS from the host layer's CA, kept in the tier's Vault (OpenBao)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import docker.tls
import pytest

from infra.docker_engine import FILES, SETTINGS, EngineSettings, engine_client
from tests.docker.engine import Engine
from tests.docker.host_pki import ca, issue
from tests.docker.images import Built
from tests.docker.nodes import Fleet, Node, PlayResult, bare_hosts, controller_env, engines
from tools.dev_vault import KV_MOUNT, DevVault

pytestmark = pytest.mark.hosts  # run beside the stack's modules (conftest.py)

API_PORT = 2376
CLUSTER = "tier-hosts"
CA_PATH = f"vos/hosts/{CLUSTER}/engine-api-ca"
SUBNET = "10.231.0.0/24"
WATCHED = "/etc/audit/rules.d/docker.rules"


@dataclass
class Hosts:
    fleet: Fleet
    socket: Node
    tcp: Node
    folder: Path
    variables: dict[str, dict[str, object]]
    vault: DevVault
    nofile: int
    """The open-files limit the socket host's engine gives every container."""
    first: PlayResult
    check_before: PlayResult

    @property
    def client_dir(self) -> Path:
        """Where the play writes Pulumi's client files (DOCKER_CERT_PATH's layout)."""
        return self.folder / "client"

    def play(self, *options: str, variables: dict[str, dict[str, object]] | None = None,
             vault: bool = True) -> PlayResult:  # fmt: skip
        env = controller_env(self.vault) if vault else {}
        given = self.variables if variables is None else variables
        return self.fleet.play("engine.yml", engines(given), *options, env=env)

    def stored_ca(self) -> dict[str, str]:
        read = self.vault.root_client().secrets.kv.v2.read_secret_version(
            path=CA_PATH, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        return dict(read["data"]["data"])


def _probe_image(node: Node) -> str:
    """A one-file image (the host's static busybox) imported into its engine: enough to run
    commands in containers there."""
    archive, _ = node.engine.client().containers.get(node.name).get_archive("/bin/busybox")
    done = node.run("docker", "import", "-", "vos-probe:1", stdin=b"".join(archive))
    assert done.returncode == 0, done.stderr
    return "vos-probe:1"


@pytest.fixture(scope="module")
def hosts(
    engine: Engine, stand_ins: Built, vault: DevVault, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    folder = tmp_path_factory.mktemp("host-layer")
    addresses = {"vos-host-socket": "10.231.0.11", "vos-host-tcp": "10.231.0.12"}
    node = stand_ins.tags["node"]
    with bare_hosts(engine, node, "vos-hosts", SUBNET, addresses, folder) as fleet:
        socket_node, tcp_node = fleet.nodes["vos-host-socket"], fleet.nodes["vos-host-tcp"]
        # A node cannot raise a limit above its own (no CAP_SYS_RESOURCE here; on a host
        # dockerd runs with LimitNOFILE=1048576): the ulimit it gives is half its hard limit.
        nofile = int(socket_node.out("sh", "-c", "ulimit -Hn")) // 2
        limits = {"nofile": {"Name": "nofile", "Soft": nofile, "Hard": nofile}}
        variables: dict[str, dict[str, object]] = {
            socket_node.name: {"docker_engine_default_ulimits": limits},
            tcp_node.name: {
                "docker_engine_api_tcp": f"{tcp_node.address}:{API_PORT}",
                "docker_engine_api_client_dir": str(folder / "client"),
                "docker_engine_cluster": CLUSTER,
            },
        }
        made_hosts = Hosts(fleet, socket_node, tcp_node, folder, variables, vault, nofile,
                           PlayResult(0, "", {}, {}), PlayResult(0, "", {}, {}))  # fmt: skip
        made_hosts.check_before = made_hosts.play("--check")
        made_hosts.first = made_hosts.play()
        yield made_hosts


def test_a_check_on_bare_hosts_passes_and_installs_nothing(hosts: Hosts) -> None:
    # The module's fixture ran `--check` before anything was installed.
    assert hosts.check_before.returncode == 0, hosts.check_before.output
    assert set(hosts.check_before.changed) == {hosts.socket.name, hosts.tcp.name}
    assert all(n > 0 for n in hosts.check_before.changed.values())  # it says what it would do


def test_the_role_runs_on_bare_hosts(hosts: Hosts) -> None:
    assert hosts.first.returncode == 0, hosts.first.output
    assert hosts.first.failed == {hosts.socket.name: 0, hosts.tcp.name: 0}, hosts.first.output
    for node in (hosts.socket, hosts.tcp):
        assert node.out("systemctl", "is-enabled", "docker").strip() == "enabled"
        exec_start = node.out("systemctl", "show", "docker", "-p", "ExecStart")
        assert "-H" not in exec_start.split(";")[1], exec_start  # daemon.json alone


def test_every_setting_is_in_effect_on_the_running_daemon(hosts: Hosts) -> None:
    node = hosts.socket
    info = json.loads(node.docker("info", "--format", "{{json .}}"))
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"
    bridge = json.loads(
        node.docker("network", "inspect", "bridge", "--format", "{{json .Options}}")
    )
    assert bridge["com.docker.network.bridge.enable_icc"] == "false"
    probe = _probe_image(node)
    status = node.docker("run", "--rm", probe, "/busybox", "cat", "/proc/self/status")
    assert "NoNewPrivs:\t1" in status  # no-new-privileges for a container that did not ask
    nofile = node.docker("run", "--rm", probe, "/busybox", "sh", "-c", "ulimit -n").strip()
    assert nofile == str(hosts.nofile)
    node.docker("run", "-d", "--name", "published", "-p", "18080:8080", probe,
                "/busybox", "sleep", "600")  # fmt: skip
    assert node.run("pgrep", "-f", "docker-proxy").returncode == 1  # userland proxy off
    log_config = json.loads(
        node.docker("inspect", "published", "--format", "{{json .HostConfig.LogConfig}}")
    )
    assert log_config["Type"] == "json-file"
    # The daemon's defaults go into a container's own configuration, which the Docker
    # provider reads back into state: hence the program sets both on every container
    # (components/docker/engine_defaults.py), and the tier's second `up` runs on these defaults.
    ulimits = node.docker("inspect", "published", "--format", "{{json .HostConfig.Ulimits}}")
    assert json.loads(ulimits) == [{"Name": "nofile", "Hard": hosts.nofile, "Soft": hosts.nofile}]
    node.docker("rm", "-f", "published")


def test_the_api_is_on_the_unix_socket_only_by_default(hosts: Hosts) -> None:
    listening = hosts.socket.out("ss", "-Hltnp")
    assert "dockerd" not in listening, listening
    assert "dockerd" in hosts.tcp.out("ss", "-Hltnp")
    socket = hosts.socket.out("stat", "-c", "%U:%G %a", "/run/docker.sock").strip()
    assert socket == "root:docker 660"


def _engine_api(hosts: Hosts, identity: tuple[Path, Path] | None) -> docker.DockerClient:
    tls = docker.tls.TLSConfig(client_cert=identity, ca_cert=str(hosts.client_dir / "ca.pem"),
                               verify=True)  # fmt: skip
    return docker.DockerClient(base_url=f"https://{hosts.tcp.address}:{API_PORT}", tls=tls,
                               version="1.41", timeout=15)  # fmt: skip


def _pulumi(hosts: Hosts) -> tuple[Path, Path]:
    """The client identity the play wrote for Pulumi's Docker provider."""
    return hosts.client_dir / "cert.pem", hosts.client_dir / "key.pem"


@pytest.fixture
def own_ca_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on some machines) replace the
    CA a client was given (Session.merge_environment_settings): the test's CA alone counts."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.mark.usefixtures("own_ca_only")
def test_the_tcp_api_serves_only_clients_of_its_ca(hosts: Hosts) -> None:
    assert _engine_api(hosts, _pulumi(hosts)).version()["ApiVersion"]
    stranger = issue(ca("another CA"), "pulumi", "client_auth").write(hosts.folder, "stranger")
    for identity in (None, stranger):
        with pytest.raises((docker.errors.DockerException, ssl.SSLError, OSError)):
            _engine_api(hosts, identity).version()
    plain = f"http://{hosts.tcp.address}:{API_PORT}/version"
    try:
        with urllib.request.urlopen(plain, timeout=10) as answer:
            assert answer.status != 200, "the API answered plain HTTP"
    except urllib.error.HTTPError as refused:
        assert refused.code == 400  # "Client sent an HTTP request to an HTTPS server."


@pytest.mark.usefixtures("own_ca_only")
def test_the_program_and_the_cli_reach_it_as_the_docker_provider_does(
    hosts: Hosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """infra/docker_engine.py, which the restored volume's check and `vos-infra backup` use:
    the play's client folder as docker:certPath, or its files as the *Material settings."""
    for variable in SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)
    host = f"tcp://{hosts.tcp.address}:{API_PORT}"
    pem = {key: (hosts.client_dir / name).read_text() for key, name in FILES.items()}
    folder = EngineSettings.of({"host": host, "certPath": str(hosts.client_dir)}.get)
    for engine in (folder, EngineSettings.of({"host": host, **pem}.get)):
        assert engine_client(engine, timeout=15).version()["ApiVersion"]
    # The engine's certificate is verified: with another CA the client refuses it.
    stranger = EngineSettings.of({"host": host, **pem, "caMaterial": ca("another CA").cert}.get)
    with pytest.raises((docker.errors.DockerException, ssl.SSLError, OSError)):
        engine_client(stranger, timeout=15).version()
    # The provider's variables stand in for unset settings, as its schema's defaults do.
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("DOCKER_CERT_PATH", str(hosts.client_dir))
    assert engine_client(EngineSettings.of(lambda key: None), timeout=15).version()["ApiVersion"]


def test_the_ca_is_in_vault_and_the_engines_key_never_left_its_host(hosts: Hosts) -> None:
    stored = hosts.stored_ca()
    assert set(stored) == {"cert", "key"}
    assert (hosts.client_dir / "ca.pem").read_text().strip() == stored["cert"].strip()
    engine_key = hosts.tcp.out("cat", "/etc/docker/tls/server-key.pem")
    assert engine_key.strip() != stored["key"].strip()
    assert hosts.tcp.out("stat", "-c", "%U %a", "/etc/docker/tls/server-key.pem").strip() == (
        "root 600"
    )
    assert oct((hosts.client_dir / "key.pem").stat().st_mode & 0o777) == "0o600"
    for secret in (stored["key"], engine_key):
        assert "".join(secret.splitlines()[1:-1])[:40] not in hosts.first.output


def test_audit_rules_watch_paths_that_exist(hosts: Hosts) -> None:
    rules = hosts.socket.out("cat", WATCHED)
    watched = [line.split()[1] for line in rules.splitlines() if line.startswith("-w ")]
    assert "/etc/docker" in watched and "/usr/sbin/dockerd" in watched
    missing = [p for p in watched if hosts.socket.run("test", "-e", p).returncode != 0]
    assert not missing  # auditctl refuses a watch on a path that does not exist


@pytest.mark.usefixtures("own_ca_only")
def test_a_second_run_changes_nothing_and_diff_shows_no_key(hosts: Hosts) -> None:
    again = hosts.play("--diff")
    assert again.returncode == 0, again.output
    assert again.changed == {hosts.socket.name: 0, hosts.tcp.name: 0}, again.output
    checked = hosts.play("--check", "--diff")
    assert checked.returncode == 0 and set(checked.changed.values()) == {0}, checked.output
    # A lost key: the play makes a new one on the host, a certificate for it, and restarts
    # the engine, showing neither.
    before = hosts.tcp.out("cat", "/etc/docker/tls/server-key.pem")
    hosts.tcp.out("rm", "/etc/docker/tls/server-key.pem")
    renewed = hosts.play("--diff")
    assert renewed.returncode == 0 and renewed.changed[hosts.tcp.name] > 0, renewed.output
    after = hosts.tcp.out("cat", "/etc/docker/tls/server-key.pem")
    assert after != before and "PRIVATE KEY" not in renewed.output
    assert _engine_api(hosts, _pulumi(hosts)).version()  # restarted with the new certificate


@pytest.mark.usefixtures("own_ca_only")
def test_a_new_ca_reissues_the_engines_and_the_clients_certificates(hosts: Hosts) -> None:
    old = hosts.stored_ca()
    kept = hosts.folder / "old-client"
    kept.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (kept / name).write_bytes((hosts.client_dir / name).read_bytes())
    hosts.vault.root_client().secrets.kv.v2.delete_metadata_and_all_versions(
        path=CA_PATH, mount_point=KV_MOUNT
    )
    rotated = hosts.play()
    assert rotated.returncode == 0, rotated.output
    assert hosts.stored_ca()["cert"] != old["cert"]
    assert _engine_api(hosts, _pulumi(hosts)).version()
    with pytest.raises((docker.errors.DockerException, ssl.SSLError, OSError)):
        _engine_api(hosts, (kept / "cert.pem", kept / "key.pem")).version()  # the old CA's


def test_tcp_without_vault_is_refused_before_anything_changes(hosts: Hosts) -> None:
    before = hosts.socket.out("sha256sum", "/etc/docker/daemon.json")
    variables = {hosts.socket.name: {"docker_engine_api_tcp": f"{hosts.socket.address}:2376"}}
    refused = hosts.play(variables=variables, vault=False)
    assert refused.returncode != 0
    assert "VAULT_ADDR" in refused.output and "plain TCP" in refused.output
    assert refused.changed == {hosts.socket.name: 0}
    assert hosts.socket.out("sha256sum", "/etc/docker/daemon.json") == before
