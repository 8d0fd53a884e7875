"""What one app container receives, per the contract (components/app/contract.py): its
environment and the secrets its sidecar renders. Pure: settings in, values out."""

from __future__ import annotations

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.app import contract
from components.app.contract import App, SecretInput, variable_for
from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from components.jaeger.definition import DEFINITION as JAEGER
from components.postgres import roles as postgres_roles
from components.postgres.definition import DEFINITION as POSTGRES
from components.rabbitmq import users as broker_users
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.weaviate.definition import DEFINITION as WEAVIATE
from stacks import Settings, operator_secrets


def apps(settings: Settings) -> list[App]:
    """The enabled gateway, then every agent, in settings order."""
    found = [App(GATEWAY.dns_name, "gateway")] if settings.is_enabled(GATEWAY.key) else []
    return found + [App(a.dns_name, "agent", a.name) for a in settings.agents]


def secret_inputs(settings: Settings, app: App) -> list[SecretInput]:
    """Every secret the app reads, in a fixed order: its logins at the data services, its
    own credentials, the gateway's internal key (an agent's), then the secrets its operator
    supplies (`<NAME>_FILE`). The gateway also reads every agent's key (agent_key_inputs)."""
    found = [
        SecretInput(variable_for(login.name), app.dns_name, login.name, login.purpose)
        for service in (POSTGRES, RABBITMQ, WEAVIATE)
        if settings.is_enabled(service.key)
        for login in service.per_consumer
    ]
    if app.kind == "gateway":
        found += [
            SecretInput(variable_for(c.name), app.dns_name, c.name, c.purpose)
            for c in GATEWAY.credentials
        ]
    elif settings.is_enabled(GATEWAY.key):
        found += [
            SecretInput(variable_for(c.name), app.dns_name, c.name, c.purpose)
            for c in GATEWAY.per_agent
        ]
    supplied = sorted(settings.operator_secrets(app.dns_name))
    found += [
        SecretInput(f"{name}_FILE", app.dns_name, operator_secrets.file_name(name), "operator's")
        for name in supplied
    ]
    return found


def agent_key_inputs(settings: Settings) -> list[SecretInput]:
    """The gateway's view of each agent's internal key (files named `<agent>.<name>`)."""
    return [
        SecretInput("VOS_AGENT_KEY_FILES", agent.dns_name, c.name, c.purpose)
        for agent in settings.agents
        for c in GATEWAY.per_agent
    ]


def readable_secrets(settings: Settings, app: App) -> list[SecretInput]:
    """Everything the app's sidecar renders (so everything its Vault policy must allow)."""
    own = secret_inputs(settings, app)
    return own + (agent_key_inputs(settings) if app.kind == "gateway" else [])


def environment(settings: Settings, app: App) -> dict[str, str]:
    """The app's non-secret environment, including the `*_FILE` paths of its secrets."""
    env = {
        "VOS_SERVICE_NAME": app.dns_name,
        "VOS_ENVIRONMENT": settings.environment,
        "VOS_STACK": settings.stack,
        "VOS_HTTPS_PORT": str(contract.HTTPS_PORT),
        "VOS_TLS_CERT_FILE": contract.SERVER_CERT,
        "VOS_TLS_KEY_FILE": contract.SERVER_KEY,
        "VOS_TLS_CA_FILE": contract.CA_CERT,
        "VOS_TLS_CLIENT_CERT_FILE": contract.CLIENT_CERT,
        "VOS_TLS_CLIENT_KEY_FILE": contract.CLIENT_KEY,
        "VOS_METRICS_PORT": str(contract.METRICS_PORT),
        "VOS_METRICS_CA_FILE": contract.METRICS_CA_CERT,
        "VOS_SECRETS_DIR": contract.SECRETS_DIR,
    }
    if settings.is_enabled(POSTGRES.key):
        role = next(r for r in postgres_roles.roles(settings) if r.service == app.dns_name)
        env |= {
            "VOS_POSTGRES_HOST": POSTGRES.dns_name,
            "VOS_POSTGRES_PORT": str(POSTGRES.tls_port),
            "VOS_POSTGRES_DATABASE": postgres_roles.DATABASE,
            "VOS_POSTGRES_USER": role.name,
            "VOS_POSTGRES_SSLMODE": "verify-full",
        }
    if settings.is_enabled(RABBITMQ.key):
        user = next(u for u in broker_users.users(settings) if u.name == app.dns_name)
        env |= {
            "VOS_RABBITMQ_HOST": RABBITMQ.dns_name,
            "VOS_RABBITMQ_PORT": str(RABBITMQ.tls_port),
            "VOS_RABBITMQ_VHOST": broker_users.VHOST,
            "VOS_RABBITMQ_USER": user.name,
            "VOS_RABBITMQ_EXCHANGE": broker_users.EXCHANGE,
            "VOS_RABBITMQ_QUEUE": user.queue,
            "VOS_RABBITMQ_PUBLISH_PREFIX": user.publish_prefix,
        }
        if user.reply_queue_prefix:
            env["VOS_RABBITMQ_REPLY_QUEUE_PREFIX"] = user.reply_queue_prefix
        if user.reply_prefix:
            env["VOS_RABBITMQ_REPLY_PREFIX"] = user.reply_prefix
    if settings.is_enabled(WEAVIATE.key):
        env["VOS_WEAVIATE_URL"] = f"https://{WEAVIATE.dns_name}:{WEAVIATE.tls_port}"
        env["VOS_WEAVIATE_COLLECTION_PREFIX"] = contract.collection_prefix(app.dns_name)
    if app.kind == "agent":
        assert app.agent_name is not None
        env["VOS_AGENT_NAME"] = app.agent_name
        if settings.is_enabled(GATEWAY.key):
            env["VOS_GATEWAY_URL"] = f"https://{GATEWAY.dns_name}:{GATEWAY.tls_port}"
    else:
        env["VOS_JWT_TTL_SECONDS"] = str(contract.JWT_TTL_SECONDS)
        env["VOS_AGENT_KEY_FILES"] = ",".join(
            f"{s.owner}={s.path(app)}" for s in agent_key_inputs(settings)
        )
    if settings.is_enabled(JAEGER.key):
        env |= {
            "OTEL_SERVICE_NAME": app.dns_name,
            "OTEL_EXPORTER_OTLP_ENDPOINT": (
                f"https://{JAEGER.dns_name}:{contract.JAEGER_OTLP_GRPC_PORT}"
            ),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": contract.CA_CERT,
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": contract.CLIENT_CERT,
            "OTEL_EXPORTER_OTLP_CLIENT_KEY": contract.CLIENT_KEY,
            "OTEL_PROPAGATORS": "tracecontext,baggage",
        }
    if settings.is_enabled(EGRESS_PROXY.key):
        env |= egress_environment(settings)
    env |= settings.app_env(app.dns_name)  # names validated apart from the platform's
    env |= {s.variable: s.path(app) for s in secret_inputs(settings, app)}
    return env


def egress_environment(settings: Settings) -> dict[str, str]:
    """Every outbound call through the egress proxy (TLS to the proxy, the app's client
    certificate, then CONNECT), except to the stack's own names. Both spellings: libraries
    read one or the other (curl and Python's urllib the lower case first)."""
    proxy = f"https://{EGRESS_PROXY.dns_name}:{EGRESS_PROXY.tls_port}"
    names = [d.dns_name for d in settings.enabled_services()]
    names += [agent.dns_name for agent in settings.agents]
    internal = ",".join([*names, "localhost", "127.0.0.1", "::1"])
    return {"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": internal, "no_proxy": internal}
