"""What the contract hands an app, read once from the environment (docs/APP-CONTRACT.md,
"Environment"): names, ports and file paths; secrets are files, read by secret_file.py."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["gateway", "agent"]


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    vhost: str
    user: str
    password_file: str
    exchange: str
    queue: str
    publish_prefix: str
    reply_queue_prefix: str = ""
    """The gateway: each replica's own reply queue starts with this (docs/APP-CONTRACT.md)."""
    reply_prefix: str = ""
    """An agent: a task's `reply_to` must start with this."""


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    database: str
    user: str
    password_file: str
    sslmode: str


@dataclass(frozen=True)
class Weaviate:
    url: str
    collection_prefix: str
    api_key_file: str


@dataclass(frozen=True)
class Environment:
    role: Role
    service: str
    https_port: int
    cert: str
    key: str
    ca: str
    client_cert: str
    client_key: str
    metrics_port: int
    metrics_ca: str
    broker: Broker | None
    database: Database | None
    weaviate: Weaviate | None = None
    agent_name: str | None = None
    gateway_url: str | None = None
    jwt_ttl_seconds: int = 900
    agent_keys: dict[str, str] = field(default_factory=dict)
    """Gateway: agent DNS name -> the file of the internal key it presents."""
    api_key_files: tuple[str, ...] = ()
    """Gateway: the current client API key, then the previous one (the rollover)."""
    jwt_secret_file: str | None = None
    admin_password_file: str | None = None
    internal_key_file: str | None = None
    """Agent: the key it presents to the gateway."""
    node_name: str = ""
    task_name: str = ""
    """On a Swarm: the node and the task of this replica (empty on one host)."""


def read(role: Role, env: dict[str, str] | None = None) -> Environment:
    source = os.environ if env is None else env

    def get(name: str) -> str:
        value = source.get(name)
        if not value:
            raise SystemExit(f"{name} is not set: the platform sets it (docs/APP-CONTRACT.md)")
        return value

    broker = None
    if source.get("VOS_RABBITMQ_HOST"):
        broker = Broker(
            get("VOS_RABBITMQ_HOST"),
            int(get("VOS_RABBITMQ_PORT")),
            get("VOS_RABBITMQ_VHOST"),
            get("VOS_RABBITMQ_USER"),
            get("VOS_RABBITMQ_PASSWORD_FILE"),
            get("VOS_RABBITMQ_EXCHANGE"),
            get("VOS_RABBITMQ_QUEUE"),
            get("VOS_RABBITMQ_PUBLISH_PREFIX"),
            source.get("VOS_RABBITMQ_REPLY_QUEUE_PREFIX", ""),
            source.get("VOS_RABBITMQ_REPLY_PREFIX", ""),
        )
    database = None
    if source.get("VOS_POSTGRES_HOST"):
        database = Database(
            get("VOS_POSTGRES_HOST"),
            int(get("VOS_POSTGRES_PORT")),
            get("VOS_POSTGRES_DATABASE"),
            get("VOS_POSTGRES_USER"),
            get("VOS_POSTGRES_PASSWORD_FILE"),
            get("VOS_POSTGRES_SSLMODE"),
        )
    weaviate = None
    if source.get("VOS_WEAVIATE_URL"):
        weaviate = Weaviate(
            get("VOS_WEAVIATE_URL"),
            get("VOS_WEAVIATE_COLLECTION_PREFIX"),
            get("VOS_WEAVIATE_API_KEY_FILE"),
        )
    agent_keys = {}
    for entry in filter(None, source.get("VOS_AGENT_KEY_FILES", "").split(",")):
        name, _, path = entry.partition("=")
        agent_keys[name] = path
    return Environment(
        role=role,
        service=get("VOS_SERVICE_NAME"),
        https_port=int(get("VOS_HTTPS_PORT")),
        cert=get("VOS_TLS_CERT_FILE"),
        key=get("VOS_TLS_KEY_FILE"),
        ca=get("VOS_TLS_CA_FILE"),
        client_cert=get("VOS_TLS_CLIENT_CERT_FILE"),
        client_key=get("VOS_TLS_CLIENT_KEY_FILE"),
        metrics_port=int(get("VOS_METRICS_PORT")),
        metrics_ca=get("VOS_METRICS_CA_FILE"),
        broker=broker,
        database=database,
        weaviate=weaviate,
        agent_name=source.get("VOS_AGENT_NAME"),
        gateway_url=source.get("VOS_GATEWAY_URL"),
        jwt_ttl_seconds=int(source.get("VOS_JWT_TTL_SECONDS", "900")),
        agent_keys=agent_keys,
        api_key_files=tuple(
            source[name]
            for name in ("VOS_API_KEY_FILE", "VOS_API_KEY_PREVIOUS_FILE")
            if source.get(name)
        ),
        jwt_secret_file=source.get("VOS_JWT_SECRET_FILE"),
        admin_password_file=source.get("VOS_ADMIN_PASSWORD_FILE"),
        internal_key_file=source.get("VOS_INTERNAL_API_KEY_FILE"),
        node_name=source.get("VOS_NODE_NAME", ""),
        task_name=source.get("VOS_TASK_NAME", ""),
    )
