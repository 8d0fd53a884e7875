"""What the platform gives the app under test: the dev stack evaluated offline (every key,
certificate and secret made fresh, so a throwaway CA), and of it the rendered container of
the gateway or the first agent: its environment, its files, and the secret files its Vault
Agent sidecar would render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from components.app.contract import SECRETS_DIR
from components.docker.spec import CONFIG_DIR
from tools.contract.errors import VerifyError
from tools.offline.mocks import unwrap
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config

Role = Literal["gateway", "agent"]
WITHHELD = {"gateway": "VOS_API_KEY_FILE", "agent": "VOS_RABBITMQ_PASSWORD_FILE"}
"""The secret left out when the app starts (the reload clause renders it later): the
gateway's client API key (a request shows when it is read), an agent's broker password."""


@dataclass(frozen=True)
class Counterpart:
    """The app at the other end of the app's messages (the first agent for the gateway, the
    gateway for an agent), whose broker identity verify takes to send and receive them."""

    name: str
    user: str
    password: str
    cert: str
    key: str
    queue: str
    prefix: str
    reply_prefix: str = ""
    """An agent: its answers' routing keys under a task's reply_to start with this."""
    reply_queue_prefix: str = ""
    """The gateway: each replica's reply queue is this and the replica's id."""


@dataclass(frozen=True)
class Subject:
    role: Role
    name: str
    """The app's DNS name: its certificate's, its service name."""
    env: dict[str, str]
    files: dict[str, str]
    """Path under CONFIG_DIR -> content (its certificates and the CAs)."""
    secrets: dict[str, str]
    """Path under SECRETS_DIR -> the value the sidecar renders."""
    withheld: str
    """The path of the secret left out at the start."""
    scraper: tuple[str, str]
    """Prometheus's scrape identity (the metrics CA's): certificate and key."""
    ca: str
    traces_to: RenderedContainer | None
    """The stack's Jaeger (its OTLP receiver's certificate and client CA), if enabled."""
    image: str
    """The app's image in the stack."""
    dependencies: list[RenderedContainer]
    """The data services its environment names, as the stack runs them."""
    jobs: list[RenderedContainer]
    """Their one-shot jobs (roles, RBAC), to run once they are healthy."""
    counterpart: Counterpart | None


def secret_value(evaluation: Evaluation, app: str, file_name: str) -> str:
    """The value written to Vault for a secret file: <app>/<name> for its own `<name>`
    files, <owner>/<name> for `<owner>.<name>` files (other agents' keys the gateway
    verifies)."""
    owner, _, name = file_name.rpartition(".")
    return str(unwrap(evaluation.named(f"vault-{owner or app}-{name}").outputs)["data"]["value"])


def _secret_paths(env: dict[str, str]) -> list[str]:
    paths = [v for k, v in env.items() if k.endswith("_FILE") and v.startswith(SECRETS_DIR + "/")]
    keys = filter(None, env.get("VOS_AGENT_KEY_FILES", "").split(","))
    return paths + [entry.partition("=")[2] for entry in keys]


def _dependencies(env: dict[str, str]) -> list[str]:
    hosts = [env.get("VOS_POSTGRES_HOST"), env.get("VOS_RABBITMQ_HOST")]
    hosts.append(urlsplit(env.get("VOS_WEAVIATE_URL", "")).hostname)
    return [h for h in hosts if h]


def _counterpart(evaluation: Evaluation, app: RenderedContainer | None) -> Counterpart | None:
    if app is None or "VOS_RABBITMQ_USER" not in app.env:
        return None
    env = app.env
    return Counterpart(
        name=app.service,
        user=env["VOS_RABBITMQ_USER"],
        password=secret_value(evaluation, app.service, "rabbitmq-password"),
        cert=app.file(env["VOS_TLS_CLIENT_CERT_FILE"]),
        key=app.file(env["VOS_TLS_CLIENT_KEY_FILE"]),
        queue=env["VOS_RABBITMQ_QUEUE"],
        prefix=env["VOS_RABBITMQ_PUBLISH_PREFIX"],
        reply_prefix=env.get("VOS_RABBITMQ_REPLY_PREFIX", ""),
        reply_queue_prefix=env.get("VOS_RABBITMQ_REPLY_QUEUE_PREFIX", ""),
    )


def subject(role: Role) -> Subject:
    evaluation = evaluate("dev", read_stack_config("dev"))
    rendered = containers(evaluation)
    agents = sorted(n for n in rendered if n.endswith("-agent") and "vault" not in n)
    name = "api-gateway" if role == "gateway" else (agents[0] if agents else "")
    if name not in rendered:
        raise VerifyError(
            f"the dev stack has no {role} to take the environment from: enable "
            "services.apiGateway and keep at least one agent in Pulumi.dev.yaml"
        )
    container = rendered[name]
    files = {}
    for path, file in container.files.items():
        if not path.startswith(CONFIG_DIR + "/"):
            raise ValueError(f"{name}: a file outside {CONFIG_DIR}: {path}")
        files[path] = file.content
    secrets = {
        path: secret_value(evaluation, name, PurePosixPath(path).name)
        for path in _secret_paths(container.env)
    }

    dependencies = [rendered[h] for h in _dependencies(container.env) if h in rendered]
    jobs = [
        job
        for job in rendered.values()
        if job.one_shot and any(job.service.startswith(d.service + "-") for d in dependencies)
    ]
    other = rendered.get("api-gateway" if role == "agent" else (agents[0] if agents else ""))

    def output(resource: str, key: str) -> str:
        return str(unwrap(evaluation.named(resource).outputs)[key])

    return Subject(
        role=role,
        name=name,
        env=dict(container.env),
        files=files,
        secrets=secrets,
        withheld=container.env[WITHHELD[role]],
        scraper=(
            output("pki-prometheus-scraper-cert", "certPem"),
            output("pki-prometheus-scraper-key", "privateKeyPem"),
        ),
        ca=output("pki-ca-cert", "certPem"),
        traces_to=rendered.get("jaeger") if "OTEL_SERVICE_NAME" in container.env else None,
        image=container.image,
        dependencies=dependencies,
        jobs=jobs,
        counterpart=_counterpart(evaluation, other),
    )
