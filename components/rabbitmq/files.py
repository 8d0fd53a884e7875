"""RabbitMQ's files, pure: rabbitmq.conf, the conf.d override, plugins, definitions."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.rabbitmq.definition import DEFINITION
from components.rabbitmq.password_hash import ALGORITHM
from components.rabbitmq.users import (
    ADMIN,
    APP_QUEUE_LIMIT,
    APP_QUEUE_MIB,
    APP_QUEUES,
    DEAD_LETTER,
    DEAD_LETTER_LIMIT,
    DEAD_LETTER_MIB,
    EXCHANGE,
    REPLY_QUEUE_PREFIX,
    VHOST,
    BrokerUser,
)

AMQPS_PORT = DEFINITION.tls_port
MANAGEMENT_PORT = 15671
assert DEFINITION.metrics_port is not None
PROMETHEUS_PORT: int = DEFINITION.metrics_port
CONF = f"{CONFIG_DIR}/rabbitmq.conf"
CONF_D = f"{CONFIG_DIR}/conf.d"
PLUGINS = f"{CONFIG_DIR}/enabled_plugins"
DEFINITIONS = f"{CONFIG_DIR}/definitions.json"
COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
START = f"{CONFIG_DIR}/start.sh"
USERS = f"{CONFIG_DIR}/users.txt"
QUEUES = f"{CONFIG_DIR}/queues.txt"
METRICS_CA = f"{TLS_DIR}/metrics-ca.crt"
"""The only CA the metrics listener trusts (see components/pki/component.py)."""
NODE_NAME = "rabbit@localhost"
"""The node's name. Its host part is what CLI tools (the healthcheck) dial through epmd:
`localhost` keeps that on loopback, where epmd and the distribution port listen."""

_TLS_VERSIONS = ("tlsv1.3", "tlsv1.2")


def _tls(
    prefix: str, verify_peer: bool, require_peer: bool, ca: str = f"{TLS_DIR}/ca.crt"
) -> list[str]:
    lines = [
        f"{prefix}.cacertfile = {ca}",
        f"{prefix}.certfile = {TLS_DIR}/server.crt",
        f"{prefix}.keyfile = {TLS_DIR}/server.key",
        f"{prefix}.verify = {'verify_peer' if verify_peer else 'verify_none'}",
        f"{prefix}.fail_if_no_peer_cert = {'true' if require_peer else 'false'}",
        f"{prefix}.honor_cipher_order = true",
    ]
    lines += [f"{prefix}.versions.{i} = {v}" for i, v in enumerate(_TLS_VERSIONS, start=1)]
    return lines


MEMORY_WATERMARK = 0.6
"""The share of the container's memory at which the broker blocks every publisher."""


def memory_watermark_bytes(memory_mb: int) -> int:
    return int(memory_mb * 1024 * 1024 * MEMORY_WATERMARK)


DISK_FREE_LIMIT_MIB = 2048
"""Free space on the data volume below which the broker blocks every publisher."""
HEARTBEAT_S = 15
"""The heartbeat timeout the broker proposes (RabbitMQ's default is 60 s; its guide suggests
5 to 20). A client whose node vanished without closing its connection (power, network) is
found dead after two missed beats, and the tasks it held unacknowledged go back to the queue
for another replica in about half a minute, not two. The app contract asks the same of
clients (some, as aiormq, send their own value instead of taking the broker's)."""


def rabbitmq_conf(memory_mb: int) -> str:
    """`memory_mb`: the container's memory limit. A node does not always see its cgroup's
    limit (RabbitMQ's memory guide recommends an absolute threshold in containers), so the
    watermark is an absolute share of it: the alarm comes before the kernel's OOM killer."""
    lines = [
        "# Rendered by vos-infra. TLS only: no plain AMQP, HTTP management or metrics listener.",
        "listeners.tcp = none",
        f"listeners.ssl.default = {AMQPS_PORT}",
        *_tls("ssl_options", verify_peer=True, require_peer=False),
        "auth_mechanisms.1 = PLAIN",
        "auth_mechanisms.2 = AMQPLAIN",
        "# No guest: users come from the definitions, guest may never log in remotely.",
        "loopback_users.guest = true",
        f"load_definitions = {DEFINITIONS}",
        "# Heartbeat timeout (s) proposed to clients: a client on a node that vanished is",
        "# found dead, and its unacknowledged messages requeued, after two missed beats.",
        f"heartbeat = {HEARTBEAT_S}",
        "# Management API over HTTPS only (no management.tcp.* key, so no plain listener).",
        f"management.ssl.port = {MANAGEMENT_PORT}",
        *_tls("management.ssl", verify_peer=False, require_peer=False),
        "# Prometheus metrics over TLS, only for a client certificate of the metrics CA, which",
        "# issues nothing but the scrape identity: other services' certificates are refused.",
        f"prometheus.ssl.port = {PROMETHEUS_PORT}",
        *_tls("prometheus.ssl", verify_peer=True, require_peer=True, ca=METRICS_CA),
        "# Erlang distribution (CLI tools, clustering) on loopback only: a single node needs",
        "# no peer, and off loopback any container of the network could try the cookie.",
        "distribution.listener.interface = 127.0.0.1",
        "# Resource alarms block every publisher: they must come before the container's limits",
        "# (each app queue is bounded far below them: definitions, policy vos-app-queues).",
        f"vm_memory_high_watermark.absolute = {memory_watermark_bytes(memory_mb)}",
        f"disk_free_limit.absolute = {DISK_FREE_LIMIT_MIB * 1024 * 1024}",
        "log.console = true",
        "log.console.level = info",
        "log.file = false",
    ]
    return "\n".join(lines) + "\n"


def conf_d_override() -> str:
    """The official image ships conf.d/10-defaults.conf with `loopback_users.guest = false`,
    which loads after rabbitmq.conf and re-enables remote guest logins. The container points
    RABBITMQ_CONFIG_FILES at our own conf.d, which holds only this file."""
    return (
        "# Rendered by vos-infra: replaces the image's conf.d defaults.\n"
        "loopback_users.guest = true\n"
    )


def enabled_plugins() -> str:
    return "[rabbitmq_management,rabbitmq_prometheus].\n"


def _dead_letter() -> dict[str, list[dict[str, object]]]:
    """What a consumer rejects is kept, not dropped: a policy (policies, unlike queue
    arguments, can change on existing queues) sends it from every app's queue to a fanout
    exchange bound to one bounded queue. The exchange is internal: no client publishes to it,
    the broker alone dead-letters into it."""
    where: dict[str, object] = {"vhost": VHOST}
    return {
        "exchanges": [
            where
            | {
                "name": DEAD_LETTER,
                "type": "fanout",
                "durable": True,
                "auto_delete": False,
                "internal": True,
                "arguments": {},
            }
        ],
        "queues": [
            where
            | {
                "name": DEAD_LETTER,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "classic"},
            }
        ],
        "bindings": [
            where
            | {
                "source": DEAD_LETTER,
                "destination": DEAD_LETTER,
                "destination_type": "queue",
                "routing_key": "",
                "arguments": {},
            }
        ],
        "policies": [
            where
            | {
                "name": "vos-app-queues",
                "pattern": APP_QUEUES,
                "apply-to": "queues",
                "priority": 0,
                # One policy per queue applies (the highest priority): the limits live here.
                "definition": {
                    "dead-letter-exchange": DEAD_LETTER,
                    "max-length": APP_QUEUE_LIMIT,
                    "max-length-bytes": APP_QUEUE_MIB * 1024 * 1024,
                    "overflow": "reject-publish",
                },
            },
            where
            | {
                "name": "vos-dead-letter",
                "pattern": f"^{re.escape(DEAD_LETTER)}$",
                "apply-to": "queues",
                "priority": 0,
                "definition": {
                    "max-length": DEAD_LETTER_LIMIT,
                    "max-length-bytes": DEAD_LETTER_MIB * 1024 * 1024,
                    "overflow": "drop-head",
                },
            },
        ],
    }


def definitions(admin_hash: str, users: Sequence[tuple[BrokerUser, str]]) -> str:
    """Users (hashes only), the vhost, least-privilege permissions and the topology.
    Loaded at every boot, so a rotated hash takes effect when the container restarts."""
    dead_letter = _dead_letter()
    document = {
        "users": [
            {
                "name": ADMIN,
                "password_hash": admin_hash,
                "hashing_algorithm": ALGORITHM,
                "tags": ["administrator"],
            },
            *(
                {
                    "name": user.name,
                    "password_hash": digest,
                    "hashing_algorithm": ALGORITHM,
                    "tags": [],
                }
                for user, digest in users
            ),
        ],
        "vhosts": [{"name": VHOST}],
        "permissions": [
            {"user": ADMIN, "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"},
            *(
                dict(zip(("configure", "write", "read"), user.permissions, strict=True))
                | {"user": user.name, "vhost": VHOST}
                for user, _ in users
            ),
        ],
        # Topic authorization: on the topic exchange a user may publish only the routing keys
        # its publish pattern matches, and bind nothing but, for the gateway's replicas,
        # their own reply queues with their own binding keys.
        "topic_permissions": [
            {"user": ADMIN, "vhost": VHOST, "exchange": EXCHANGE, "write": ".*", "read": ".*"},
            *(
                {
                    "user": user.name,
                    "vhost": VHOST,
                    "exchange": EXCHANGE,
                    "write": user.publish_pattern,
                    "read": user.bind_pattern,
                }
                for user, _ in users
            ),
        ],
        "exchanges": [
            {
                "name": EXCHANGE,
                "vhost": VHOST,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            },
            *dead_letter["exchanges"],
        ],
        "queues": [
            {
                "name": user.queue,
                "vhost": VHOST,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "classic"},
            }
            for user, _ in users
        ]
        + dead_letter["queues"],
        "bindings": [
            {
                "source": EXCHANGE,
                "vhost": VHOST,
                "destination": user.queue,
                "destination_type": "queue",
                "routing_key": user.routing_pattern,
                "arguments": {},
            }
            for user, _ in users
        ]
        + dead_letter["bindings"],
        "policies": dead_letter["policies"],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def names(values: Sequence[str]) -> str:
    """One name per line: the users (or queues) the definitions declare."""
    return "".join(f"{value}\n" for value in values)


def start_script() -> str:
    """The broker's command. RabbitMQ imports definitions at boot but never deletes what
    they no longer name, so a removed agent's user (with its password hash and its
    permissions) and its queue would stay on the data volume. After the node has booted,
    this deletes every user not in USERS and every queue of the vhost not in QUEUES (but the
    gateway replicas' reply queues: exclusive, they die with their connection, and a replica
    that connected first must keep its own), then waits on the server, passing on the signal
    `docker stop` sends."""
    return f"""#!/bin/sh
# Rendered by vos-infra: start RabbitMQ, then remove what the definitions no longer name.
set -u
rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
until rabbitmqctl -q await_startup >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || break
  sleep 2
done
if kill -0 "$server" 2>/dev/null; then
  # rabbitmqctl reads its standard input: inside a `while read` loop it would swallow the
  # rest of the list, hence </dev/null.
  rabbitmqctl -q list_users --no-table-headers </dev/null | while read -r name _tags; do
    grep -qxF "$name" "$VOS_BROKER_USERS" ||
      rabbitmqctl -q delete_user "$name" </dev/null
  done
  rabbitmqctl -q list_queues -p {VHOST} --no-table-headers name </dev/null |
    while read -r queue; do
      case "$queue" in {REPLY_QUEUE_PREFIX}*) continue ;; esac
      grep -qxF "$queue" "$VOS_BROKER_QUEUES" ||
        rabbitmqctl -q delete_queue -p {VHOST} "$queue" </dev/null
    done
fi
wait "$server"
status=$?
# A signal interrupted the first wait: wait for the server to finish stopping.
kill -0 "$server" 2>/dev/null && wait "$server" && status=$?
exit "$status"
"""
