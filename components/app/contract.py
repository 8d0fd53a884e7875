"""The contract every VOS application image honours (the API gateway and each agent). Pure.

This module is the contract: `docs/APP-CONTRACT.md` is rendered from it
(`scripts/vos-infra contract`, checked by
tests/program/test_api_gateway.py::test_the_contract_document_is_rendered_from_the_code),
and the app containers are built from it, so `vos-infra render` shows exactly what each app
receives (tests/program/test_api_gateway.py holds every app's variables and secret files to
it).

What an app gets:
- non-secret settings as environment variables (`environment`), the same names in every
  environment;
- every secret as a file under SECRETS_DIR, named by a `*_FILE` variable, rendered at run
  time from Vault by the app's Vault Agent sidecar (`secret_files`). The files are 0400 and
  owned by APP_UID; a rotation replaces them in place (atomic rename) within the sidecar's
  render interval, and the app re-reads a `*_FILE` value when its file changes (the
  documented reload: watch SECRETS_DIR, or re-read at least every RELOAD_POLL_S seconds);
- its server certificate, a client certificate and the CAs as files under TLS_DIR
  (delivered at deploy time, like every other service's; a new certificate replaces the
  container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.docker.spec import TLS_DIR
from components.vault_agent import files as agent_files

APP_UID = 10001
"""The uid:gid every VOS image runs as (not root; the root filesystem is read-only)."""
SECRETS_DIR = agent_files.SECRETS_DIR
"""A tmpfs volume shared with the Vault Agent sidecar; the app mounts it read-only."""
HTTPS_PORT = 8443
METRICS_PORT = 9464
TMP_DIR = "/tmp"  # noqa: S108 (a private tmpfs inside the container)
HEALTH_PATH = "/healthz"
REQUEST_ID_FIELD = "request_id"
TRACE_ID_FIELD = "trace_id"
"""Keys of every JSON log line written for a request or a message (the edge's too): Alloy
keeps them as Loki structured metadata, Grafana links a trace id to Jaeger."""
REQUEST_ID_AMQP_HEADER = "x-request-id"
JWT_TTL_SECONDS = 900
"""Lifetime of the tokens the gateway issues: a leaked token is worth 15 minutes."""
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
RELOAD_POLL_S = 30
JAEGER_OTLP_GRPC_PORT = 4317

SERVER_CERT = f"{TLS_DIR}/server.crt"
SERVER_KEY = f"{TLS_DIR}/server.key"
CLIENT_CERT = f"{TLS_DIR}/client.crt"
CLIENT_KEY = f"{TLS_DIR}/client.key"
CA_CERT = f"{TLS_DIR}/ca.crt"
METRICS_CA_CERT = f"{TLS_DIR}/metrics-ca.crt"

Kind = Literal["gateway", "agent"]


@dataclass(frozen=True)
class App:
    """One application container: the gateway or an agent."""

    dns_name: str
    kind: Kind
    agent_name: str | None = None


@dataclass(frozen=True)
class SecretInput:
    """A secret an app receives as a file: the value of `<owner>/<name>` in Vault."""

    variable: str
    """The `*_FILE` environment variable that names the file."""
    owner: str
    """The Vault folder (DNS name) that holds it."""
    name: str
    """Its name in that folder; also the file's name (prefixed by the owner if not the app)."""
    purpose: str

    def file_name(self, app: App) -> str:
        return self.name if self.owner == app.dns_name else f"{self.owner}.{self.name}"

    def path(self, app: App) -> str:
        return f"{SECRETS_DIR}/{self.file_name(app)}"


def collection_prefix(dns_name: str) -> str:
    """`weather-agent` -> `WeatherAgent`: the app's Weaviate collections are named
    `WeatherAgent...`; its Weaviate role reaches those and no other (Weaviate capitalises
    the first letter of every collection name)."""
    return "".join(part.capitalize() for part in dns_name.split("-"))


def variable_for(name: str) -> str:
    """`postgres-password` -> `VOS_POSTGRES_PASSWORD_FILE`."""
    return f"VOS_{name.upper().replace('-', '_')}_FILE"


@dataclass(frozen=True)
class Variable:
    """One row of the contract's environment table."""

    name: str
    example: str
    meaning: str
    who: str = "all"
    """`all`, `gateway`, `agent`, or a condition."""


NODE_TEMPLATE, TASK_TEMPLATE = "{{.Node.Hostname}}", "{{.Task.Name}}"
"""Swarm's templates for a task's environment (expanded by the engine for each task): a
replica's node and task, which a scrape by DNS (`tasks.<app>`: addresses only) cannot tell."""

# Non-secret environment, in the order the document lists it. `{...}` fields are filled in
# per app by `environment`.
VARIABLES: tuple[Variable, ...] = (
    Variable("VOS_SERVICE_NAME", "api-gateway", "the app's DNS name and identity"),
    Variable("VOS_ENVIRONMENT", "dev", "dev or prod"),
    Variable("VOS_STACK", "dev", "the Pulumi stack"),
    Variable("VOS_HTTPS_PORT", str(HTTPS_PORT), "serve the API and health over HTTPS here"),
    Variable("VOS_TLS_CERT_FILE", SERVER_CERT, "server certificate (the app's DNS name)"),
    Variable("VOS_TLS_KEY_FILE", SERVER_KEY, "its private key (0400)"),
    Variable("VOS_TLS_CA_FILE", CA_CERT, "the platform CA: verify every peer with it"),
    Variable("VOS_TLS_CLIENT_CERT_FILE", CLIENT_CERT, "the app's client certificate"),
    Variable("VOS_TLS_CLIENT_KEY_FILE", CLIENT_KEY, "its private key (0400)"),
    Variable("VOS_METRICS_PORT", str(METRICS_PORT), "serve /metrics over HTTPS here"),
    Variable(
        "VOS_METRICS_CA_FILE",
        METRICS_CA_CERT,
        "require a client certificate of this CA on the metrics port (Prometheus's only)",
    ),
    Variable("VOS_SECRETS_DIR", SECRETS_DIR, "where the `*_FILE` secrets are"),
    Variable("VOS_POSTGRES_HOST", "postgres", "PostgreSQL host (verify-full)"),
    Variable("VOS_POSTGRES_PORT", "5432", "PostgreSQL port"),
    Variable("VOS_POSTGRES_DATABASE", "vos", "database"),
    Variable("VOS_POSTGRES_USER", "api_gateway", "the app's own role (schema of that name)"),
    Variable("VOS_POSTGRES_SSLMODE", "verify-full", "libpq sslmode"),
    Variable("VOS_RABBITMQ_HOST", "rabbitmq", "RabbitMQ host (AMQPS)"),
    Variable("VOS_RABBITMQ_PORT", "5671", "AMQPS port"),
    Variable("VOS_RABBITMQ_VHOST", "vos", "virtual host"),
    Variable("VOS_RABBITMQ_USER", "api-gateway", "the app's own broker user"),
    Variable("VOS_RABBITMQ_EXCHANGE", "vos.messages", "the only exchange it may publish to"),
    Variable(
        "VOS_RABBITMQ_QUEUE",
        "vos.gateway",
        "its shared queue: every replica may take any message of it",
    ),
    Variable(
        "VOS_RABBITMQ_PUBLISH_PREFIX",
        "agent.",
        "routing keys it may publish start with this; set `user_id` to VOS_RABBITMQ_USER",
    ),
    Variable(
        "VOS_RABBITMQ_REPLY_QUEUE_PREFIX",
        "vos.gateway.reply.",
        "each replica declares its own reply queue: this and the replica's id (Messaging)",
        "gateway",
    ),
    Variable(
        "VOS_RABBITMQ_REPLY_PREFIX",
        "reply.weather.",
        "a task's `reply_to` starts with this: answer it under that routing key (Messaging)",
        "agent",
    ),
    Variable("VOS_WEAVIATE_URL", "https://weaviate:8443", "Weaviate REST endpoint"),
    Variable(
        "VOS_WEAVIATE_COLLECTION_PREFIX",
        "ApiGateway",
        "name every collection the app creates with this prefix: its role reaches no other",
    ),
    Variable(
        "VOS_NODE_NAME",
        "vos-swarm-w1",
        f"the node the task runs on (Swarm fills in `{NODE_TEMPLATE}`): `vos_app_info`",
        "on a Swarm",
    ),
    Variable(
        "VOS_TASK_NAME",
        "vos-prod-api-gateway.2.k3x9",
        f"the task (Swarm fills in `{TASK_TEMPLATE}`): `vos_app_info`",
        "on a Swarm",
    ),
    Variable("VOS_AGENT_NAME", "weather", "the agent's name", "agent"),
    Variable("VOS_GATEWAY_URL", "https://api-gateway:8443", "the gateway's internal URL", "agent"),
    Variable(
        "VOS_JWT_TTL_SECONDS",
        str(JWT_TTL_SECONDS),
        "lifetime of the JWTs it issues (`exp`); refuse a token without `exp` or past it",
        "gateway",
    ),
    Variable(
        "VOS_AGENT_KEY_FILES",
        f"weather-agent={SECRETS_DIR}/weather-agent.internal-api-key",
        "comma-separated `<agent>=<file>`: the internal API key each agent presents",
        "gateway",
    ),
    Variable(
        "HTTPS_PROXY",
        "https://egress-proxy:3129",
        "every outbound call goes through this proxy: TLS to it (verify with VOS_TLS_CA_FILE), "
        "present the client certificate, then CONNECT to a host of the app's `egress` list; "
        "everything else is refused (also `https_proxy`)",
        "when egressProxy is enabled",
    ),
    Variable(
        "NO_PROXY",
        "postgres,rabbitmq,...,localhost,127.0.0.1,::1",
        "the stack's own names, reached directly (also `no_proxy`)",
        "when egressProxy is enabled",
    ),
    Variable(
        "https_proxy", "https://egress-proxy:3129", "HTTPS_PROXY", "when egressProxy is enabled"
    ),
    Variable("no_proxy", "postgres,rabbitmq,...", "NO_PROXY", "when egressProxy is enabled"),
    Variable("OTEL_SERVICE_NAME", "api-gateway", "trace service name", "when jaeger is enabled"),
    Variable(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        f"https://jaeger:{JAEGER_OTLP_GRPC_PORT}",
        "OTLP gRPC over TLS",
        "when jaeger is enabled",
    ),
    Variable("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "", "when jaeger is enabled"),
    Variable("OTEL_EXPORTER_OTLP_CERTIFICATE", CA_CERT, "", "when jaeger is enabled"),
    Variable("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", CLIENT_CERT, "", "when jaeger is enabled"),
    Variable("OTEL_EXPORTER_OTLP_CLIENT_KEY", CLIENT_KEY, "", "when jaeger is enabled"),
    Variable(
        "OTEL_PROPAGATORS",
        "tracecontext,baggage",
        "W3C trace context, also in AMQP message headers",
        "when jaeger is enabled",
    ),
)


@dataclass(frozen=True)
class Metric:
    """A series family every app of `who` exposes on its metrics endpoint. The alert rules
    and dashboards read app metrics only from this list, held to it for the rules by
    tests/integration/test_alert_rules.py::test_app_metrics_the_rules_read_are_in_the_app_contract
    and for the dashboards by tests/program/test_grafana.py (every panel query)."""

    name: str
    """As Prometheus stores it: a histogram's series are `<name>_bucket/_sum/_count`."""
    kind: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    meaning: str
    who: str = "all"


# The HTTP histogram is OpenTelemetry's `http.server.request.duration` (stable HTTP semantic
# conventions) as its Prometheus exporter names it; 9464 is that exporter's default port.
METRICS: tuple[Metric, ...] = (
    Metric(
        "vos_app_info",
        "gauge",
        ("node", "task"),
        "always 1: where this replica runs (`VOS_NODE_NAME`, `VOS_TASK_NAME`; empty when "
        "unset, on one host); the dashboards join it by `instance` to show each replica's node",
    ),
    Metric(
        "http_server_request_duration_seconds",
        "histogram",
        ("http_request_method", "http_route", "http_response_status_code"),
        "every HTTPS request served, by route and status code",
    ),
    Metric(
        "vos_agent_tasks_total",
        "counter",
        ("outcome",),
        "tasks finished; `outcome` is `success` or `error`",
        "agent",
    ),
    Metric("vos_agent_busy", "gauge", (), "1 while a task is in progress, else 0", "agent"),
    Metric(
        "vos_agent_llm_call_duration_seconds",
        "histogram",
        ("model",),
        "each call to a language model, by model",
        "agent",
    ),
    Metric(
        "vos_agent_tool_executions_total",
        "counter",
        ("tool", "outcome"),
        "tool calls; `outcome` is `success` or `error`",
        "agent",
    ),
)


def metric_series(metric: Metric) -> tuple[str, ...]:
    """The series names a metric family stores in Prometheus."""
    if metric.kind == "histogram":
        return tuple(f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return (metric.name,)
