"""The reference apps (apps/vos_reference) run as local processes from what their containers
receive: the rendered environment and files, and as secret files what their Vault Agent
sidecars would render (the values the program writes to Vault), beside Debian's RabbitMQ
and PostgreSQL started from their rendered files (PostgreSQL's role job run).

Remapped, nothing else: /etc/vos and /run/vos/secrets -> folders of the test; the apps'
ports and the servers' ports -> free local ports; Jaeger's OTLP receiver -> an OTLP/gRPC
receiver of the test's with Jaeger's certificate and client CA (tools/contract/otlp.py). Names
are not remapped: every process runs in a mount namespace whose /etc/hosts names the
platform's services 127.0.0.1, so TLS is verified for the names the containers use."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from components.app.contract import CA_CERT, SECRETS_DIR
from components.docker.spec import CONFIG_DIR
from tests.helpers import write_private
from tests.integration.postgres_server import PostgresServer
from tests.integration.rabbitmq_server import RabbitMqServer
from tests.integration.rendered_server import hosts_file, in_private_hosts
from tests.integration.sockets import free_port
from tools.contract.otlp import OtlpReceiver
from tools.contract.subject import secret_value
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation

APPS_DIR = Path(__file__).resolve().parents[2] / "apps"
PROXY = ("HTTPS_PROXY", "https_proxy")
"""Dropped unless an egress proxy runs beside them (`prepare(..., proxy_port=)`)."""
NO_WEAVIATE = ("VOS_WEAVIATE_URL", "VOS_WEAVIATE_COLLECTION_PREFIX", "VOS_WEAVIATE_API_KEY_FILE")
"""Dropped: no Weaviate runs here (no build of it for these machines); the Docker tier runs
the apps against its stand-in."""


@dataclass
class App:
    name: str
    role: str
    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "stdout.log"

    @property
    def port(self) -> int:
        return int(self.env["VOS_HTTPS_PORT"])

    @property
    def metrics_port(self) -> int:
        return int(self.env["VOS_METRICS_PORT"])

    def secret(self, variable: str) -> Path:
        return Path(self.env[variable])

    def file(self, container_path: str) -> Path:
        return self.root / "etc" / container_path.removeprefix(CONFIG_DIR + "/")

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def write_atomically(path: Path, value: str) -> None:
    """As the sidecar does: a new file renamed over the old one."""
    staged = path.with_name(path.name + ".new")
    staged.write_text(value)
    staged.chmod(0o400)
    os.replace(staged, path)


class ReferenceStack:
    def __init__(
        self, evaluation: Evaluation, folder: Path, extra_names: tuple[str, ...] = ()
    ) -> None:
        """`extra_names`: more names the hosts file gives 127.0.0.1 (an egress proxy, the
        test's outside hosts)."""
        self.evaluation = evaluation
        self.folder = folder
        self.rendered = containers(evaluation)
        self.broker = RabbitMqServer()
        self.database = PostgresServer(self.rendered["postgres"])
        names = ["rabbitmq", "postgres", "jaeger", "api-gateway", *self.agent_names()]
        names += extra_names
        self.hosts = hosts_file(names)
        self.apps: dict[str, App] = {}
        self.traces: OtlpReceiver | None = None

    def agent_names(self) -> list[str]:
        return [n for n in self.rendered if n.endswith("-agent") and "vault" not in n]

    def start_servers(self) -> None:
        self.broker.install(self.rendered["rabbitmq"])
        self.broker.start()
        self.database.start()
        job = self.database.run_job(self.rendered["postgres-roles"])
        assert job.returncode == 0, job.stderr
        self.traces = OtlpReceiver(self.rendered["jaeger"])

    def prepare(
        self,
        name: str,
        role: str,
        leave_out: tuple[str, ...] = (),
        proxy_port: int | None = None,
        replica: str = "",
    ) -> App:
        """Lay out the app's files and secrets (but `leave_out` secret variables); with
        `proxy_port`, its HTTPS_PROXY names the egress proxy on that port; with `replica`,
        another instance of it, kept as `<name>/<replica>` in `apps`."""
        container: RenderedContainer = self.rendered[name]
        key = f"{name}/{replica}" if replica else name
        root = self.folder / key
        secrets = root / "secrets"
        for file in container.files.values():
            assert file.path.startswith(CONFIG_DIR + "/"), file.path
            target = root / "etc" / file.path.removeprefix(CONFIG_DIR + "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            write_private(target.parent, target.name, file.content)
        env = {
            key: value.replace(CONFIG_DIR, str(root / "etc")).replace(SECRETS_DIR, str(secrets))
            for key, value in container.env.items()
            if (key not in PROXY or proxy_port is not None) and key not in NO_WEAVIATE
        }
        secrets.mkdir(parents=True, exist_ok=True)
        for variable, path in env.items():
            rendered_by_sidecar = variable.endswith("_FILE") and path.startswith(str(secrets))
            if rendered_by_sidecar and variable not in leave_out:
                write_atomically(Path(path), secret_value(self.evaluation, name, Path(path).name))
        for entry in filter(None, env.get("VOS_AGENT_KEY_FILES", "").split(",")):
            key_file = Path(entry.partition("=")[2])
            write_atomically(key_file, secret_value(self.evaluation, name, key_file.name))
        env |= {
            "VOS_HTTPS_PORT": str(free_port()),
            "VOS_METRICS_PORT": str(free_port()),
            "VOS_RABBITMQ_PORT": str(self.broker.amqps),
            "VOS_POSTGRES_PORT": str(self.database.port),
        }
        if "OTEL_EXPORTER_OTLP_ENDPOINT" in env and self.traces:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"https://jaeger:{self.traces.port}"
            env["OTEL_BSP_SCHEDULE_DELAY"] = "500"  # export within half a second
        if proxy_port is not None:
            for variable in PROXY:
                env[variable] = f"https://egress-proxy:{proxy_port}"
        if "VOS_GATEWAY_URL" in env and "api-gateway" in self.apps:
            env["VOS_GATEWAY_URL"] = f"https://api-gateway:{self.apps['api-gateway'].port}"
        app = App(name, role, root, env)
        self.apps[key] = app
        return app

    def start(self, app: App) -> None:
        environment = app.env | {"PYTHONPATH": str(APPS_DIR), "PATH": os.environ["PATH"]}
        with app.log.open("ab") as out:
            app.process = subprocess.Popen(
                [*in_private_hosts(self.hosts), sys.executable, "-m", "vos_reference", app.role],
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        for app in self.apps.values():
            if app.process and app.process.poll() is None:
                app.process.terminate()
                try:
                    app.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    app.process.kill()
        if self.traces:
            self.traces.stop()
        self.database.stop()
        self.broker.stop()
        self.hosts.unlink()


@contextmanager
def reference_stack(
    evaluation: Evaluation, folder: Path, extra_names: tuple[str, ...] = ()
) -> Iterator[ReferenceStack]:
    stack = ReferenceStack(evaluation, folder, extra_names)
    try:
        stack.start_servers()
        yield stack
    finally:
        stack.stop()


def wait_until(check: Callable[[], object], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def call(
    app: App,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: object = None,
    port: int | None = None,
    identity: tuple[str, str] | None = None,
) -> Answer:
    """HTTPS to the app by its own name, verified with the platform CA it was given."""
    context = ssl.create_default_context(cafile=str(app.file(CA_CERT)))
    if identity:
        context.load_cert_chain(*identity)
    raw = socket.create_connection(("127.0.0.1", port or app.port), timeout=15)
    connection = http.client.HTTPSConnection(app.name, port or app.port, context=context)
    connection.sock = context.wrap_socket(raw, server_hostname=app.name)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = dict(headers or {}) | ({"Content-Type": "application/json"} if data else {})
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        connection.close()


def ready(app: App) -> bool:
    """Its /readyz answers 200 (False while it does not listen yet)."""
    try:
        return call(app, "GET", "/readyz").status == 200
    except OSError:
        return False
