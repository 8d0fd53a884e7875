"""docs/APP-CONTRACT.md, rendered from the contract (components/app/contract.py) and the
definitions, so the document and the containers cannot drift apart. Pure."""

from __future__ import annotations

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.app import contract
from components.app.contract import variable_for
from components.edge.files import FORWARDED_SET, IDENTITY_HEADERS_CLEARED
from components.postgres.definition import DEFINITION as POSTGRES
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.rabbitmq.files import HEARTBEAT_S
from components.rabbitmq.users import (
    APP_QUEUE_LIMIT,
    APP_QUEUE_MIB,
    DEAD_LETTER,
    DEAD_LETTER_LIMIT,
    DEAD_LETTER_MIB,
)
from components.vault_agent.files import RENDER_INTERVAL_S, SECRETS_DIR
from components.weaviate.definition import DEFINITION as WEAVIATE
from stacks.edge_settings import AUTH_ROUTE


def _secret_rows() -> list[str]:
    rows = [
        f"| `{variable_for(c.name)}` | `<app>/{c.name}` | {c.purpose} | all (when {d.key} "
        "is enabled) |"
        for d in (POSTGRES, RABBITMQ, WEAVIATE)
        for c in d.per_consumer
    ]
    rows += [
        f"| `{variable_for(c.name)}` | `{GATEWAY.dns_name}/{c.name}` | {c.purpose} | gateway |"
        for c in GATEWAY.credentials
    ]
    rows += [
        f"| `{variable_for(c.name)}` | `<agent>/{c.name}` | {c.purpose} | agent |"
        for c in GATEWAY.per_agent
    ]
    return rows


def contract_markdown() -> str:
    lines = [
        "# The VOS application contract",
        "",
        "<!-- Rendered from components/app/contract.py by `scripts/vos-infra contract`;",
        "     tests/program/test_api_gateway.py fails when this file is not current. -->",
        "",
        "What every VOS application image (the API gateway and each agent) receives from",
        "vos-infra, and what it must do. `vos-infra render --stack <stack>` writes exactly",
        "what each app container and its sidecar receive.",
        "",
        "## The image",
        "",
        f"- Runs as uid:gid `{contract.APP_UID}:{contract.APP_UID}` on a read-only root "
        f"filesystem; `{contract.TMP_DIR}` is a private tmpfs (noexec).",
        "- No capability, no new privileges, no published port: the gateway is reached",
        "  through the TLS edge, agents only on the internal network.",
        "- Has `python3` on PATH: the container's healthcheck calls the readiness endpoint",
        "  with it.",
        f"- Serves its API over HTTPS on `VOS_HTTPS_PORT` ({contract.HTTPS_PORT}) with "
        "`VOS_TLS_CERT_FILE`/`VOS_TLS_KEY_FILE`,",
        f"  liveness `GET {contract.HEALTH_PATH}` and readiness `GET {contract.READY_PATH}` "
        "(ready = its secrets read and its",
        "  dependencies reachable), unauthenticated. Not ready, it answers 503 with a JSON",
        "  `waiting_for` list naming what it waits for (a secret by its file's name, e.g.",
        "  `rabbitmq-password`), never a secret's value.",
        f"- Serves `GET {contract.METRICS_PATH}` over HTTPS on `VOS_METRICS_PORT` "
        f"({contract.METRICS_PORT}), requiring a client",
        "  certificate issued by `VOS_METRICS_CA_FILE` (only Prometheus holds one).",
        "- Verifies every peer with `VOS_TLS_CA_FILE` (PostgreSQL `sslmode=verify-full`, AMQPS,",
        "  HTTPS); presents `VOS_TLS_CLIENT_CERT_FILE` where a peer asks for a client",
        "  certificate.",
        "",
        "## Secrets: files, rendered at run time",
        "",
        f"Every secret is a file in `{SECRETS_DIR}` (a tmpfs volume shared with the app's "
        "Vault Agent sidecar,",
        "mounted read-only in the app), named by a `*_FILE` variable, mode 0400, owned by the "
        "app's uid.",
        "The sidecar logs in with the app's own AppRole and can read nothing else. A rotation",
        f"writes a new version to Vault; the sidecar renders it within {RENDER_INTERVAL_S} s, "
        "replacing the file",
        "atomically (rename). **Reload:** the app re-reads a `*_FILE` value when its file changes",
        f"(watch `{SECRETS_DIR}`, or re-read at least every {contract.RELOAD_POLL_S} s) and "
        "uses the new value for new",
        "connections; the old password keeps working only until the data service has the new",
        "one, so reconnect on an authentication failure after re-reading.",
        "On a Swarm (`target: swarm`) no sidecar runs: the engine mounts the same files at the",
        "same paths (Swarm secrets, on a tmpfs, same owner and mode), and a rotation rolls the",
        "app's tasks, a new one healthy before an old one stops; the app reads its files as above.",
        "",
        "| variable | Vault secret (under `<pathPrefix>/<stack>/`) | what | who |",
        "| --- | --- | --- | --- |",
        *_secret_rows(),
        "| `VOS_AGENT_KEY_FILES` | `<agent>/internal-api-key`, every agent | verify agents "
        "| gateway |",
        "| `<NAME>_FILE` | `<app>/operator-<name>` | a secret the operator supplies "
        "(`agents[].secrets.<NAME>`, `services.apiGateway.secrets.<NAME>`: an API key of an "
        "outside service) | the app it is given to |",
        "",
        "## Behind the edge (the gateway)",
        "",
        "The TLS edge is the first proxy. It sets "
        + ", ".join(f"`{name}`" for name, _ in FORWARDED_SET)
        + " to its own values",
        "(the client's address, https, the Host it accepted, its port) and removes "
        + ", ".join(f"`{name}`" for name in IDENTITY_HEADERS_CLEARED)
        + ": trust",
        "those headers from the edge only. It answers a Host outside `network.publicNames` "
        "(and localhost in dev) with 421.",
        "",
        "- CORS is the edge's (`edge.cors`): it answers preflights itself and drops any "
        "`Access-Control-*` header",
        "  the gateway sends. The gateway sends none.",
        f"- The login routes live under `{AUTH_ROUTE}`: the edge limits them tighter "
        "than the rest (`edge.rateLimits`).",
        "- Every request arrives with `X-Request-ID` (the caller's when it is a plain token of "
        "at most 128",
        "  characters, else one the edge made) and the answer carries the same; `traceparent`, "
        "when the",
        "  caller sent one, passes through: continue that trace.",
        "",
        "## Authentication",
        "",
        f"- Every route but `{contract.HEALTH_PATH}` and `{contract.READY_PATH}` requires one "
        "of: `X-API-Key` equal to the",
        "  contents of `VOS_API_KEY_FILE` or of `VOS_API_KEY_PREVIOUS_FILE` (compare in "
        "constant time); a",
        "  `Authorization: Bearer` JWT signed HS256 with `VOS_JWT_SECRET_FILE`, with `exp` no "
        "later than",
        "  `VOS_JWT_TTL_SECONDS` after `iat`; or, from an agent, its internal API key "
        "(`VOS_AGENT_KEY_FILES`).",
        "  Anything else gets 401 with no detail.",
        "- The client API key rolls over with an overlap: `rotation.apiKey` makes a new "
        "current key and keeps",
        "  the one it replaced valid as the previous key until the next rotation; clients "
        "move to the new key",
        "  in between. The JWT key rotates on its own (`rotation.apiGateway`): tokens signed "
        "with the old key",
        "  stop working, and the short lifetime bounds what that costs.",
        "",
        "## Requests in the logs",
        "",
        f"- Log to stdout, one JSON object per line, with `{contract.REQUEST_ID_FIELD}` "
        "(the request's `X-Request-ID`, or the",
        f"  message's `{contract.REQUEST_ID_AMQP_HEADER}` header) and "
        f"`{contract.TRACE_ID_FIELD}` (32 lower-case hex digits, or empty) on every line",
        "  written while handling a request or a message. The edge logs each request the "
        "same way, so Loki",
        "  finds a request across the edge, the gateway and the agents by either id.",
        "- Publishing for a request, copy its id into the AMQP header "
        f"`{contract.REQUEST_ID_AMQP_HEADER}` (and the trace context",
        "  as below).",
        "",
        "## Outbound calls",
        "",
        "When the egress proxy runs, every call to the outside goes through `HTTPS_PROXY`: TLS "
        "to the proxy,",
        "verified with `VOS_TLS_CA_FILE`, presenting `VOS_TLS_CLIENT_CERT_FILE`, then `CONNECT "
        "host:port` and the app's",
        "own TLS to that host inside the tunnel (the proxy never sees into it). Only the hosts "
        "of the app's `egress`",
        "list are allowed; anything else gets 403 and is logged with the app's identity. The "
        "stack's own names",
        "(`NO_PROXY`) are reached directly. Error trackers and the like are outside hosts too.",
        "",
        "## Environment",
        "",
        "| variable | example | meaning | who |",
        "| --- | --- | --- | --- |",
        *(f"| `{v.name}` | `{v.example}` | {v.meaning} | {v.who} |" for v in contract.VARIABLES),
        "",
        "## Metrics",
        "",
        f"On `{contract.METRICS_PATH}` (port {contract.METRICS_PORT}), in the Prometheus text "
        "format, at least these families (the",
        "alert rules and dashboards read no other app metric). Process metrics",
        "(`process_start_time_seconds`) are welcome: the restart-loop alert uses them.",
        "",
        "| metric | type | labels | meaning | who |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| `{m.name}` | {m.kind} | {', '.join(f'`{x}`' for x in m.labels) or '-'} "
            f"| {m.meaning} | {m.who} |"
            for m in contract.METRICS
        ),
        "",
        "## Messaging",
        "",
        "- Publish only to `VOS_RABBITMQ_EXCHANGE`, with routing keys that start with",
        "  `VOS_RABBITMQ_PUBLISH_PREFIX` (the gateway: `agent.<agent>.<topic>`; an agent:",
        "  `gateway.<its name>.<topic>`), and set the AMQP `user_id` property to",
        "  `VOS_RABBITMQ_USER`: the broker refuses anything else.",
        "- Consume only `VOS_RABBITMQ_QUEUE` (the gateway also its replicas' reply queues, "
        "below), and reject",
        "  (no requeue) a message without `user_id`: the broker checks `user_id` only when it "
        "is set, so such",
        "  a message arrives unattributed. Take tasks only from the gateway's user and answers "
        "only from the",
        "  agent the routing key names.",
        "- Answers reach the replica that asked. The gateway runs as several replicas (Swarm) "
        "sharing its",
        "  queue, where an answer would go to whichever replica takes it next. So each replica "
        "declares its",
        "  own queue, `VOS_RABBITMQ_REPLY_QUEUE_PREFIX` and an id of its own (`[a-z0-9-]`, "
        "up to 63): exclusive",
        "  and auto-delete, bound to the exchange with `reply.*.<id>`; its tasks carry "
        "`reply_to: reply.<agent>.<id>`",
        "  and a `correlation_id`. An agent answers a task under its `reply_to` (which starts with",
        "  `VOS_RABBITMQ_REPLY_PREFIX`: reject a task with any other, no requeue), and a task "
        "without",
        "  `reply_to` under `gateway.<its name>.result`, to the shared queue. The broker allows "
        "the gateway",
        "  no other queue or binding, and an agent no other reply key.",
        "- What a consumer rejects is not lost: the broker moves it to "
        f"`{DEAD_LETTER}` (a policy on every",
        f"  app queue; the queue keeps the newest {DEAD_LETTER_LIMIT:,}".replace(",", " ")
        + f" messages, {DEAD_LETTER_MIB} MiB at most), where the admin",
        "  can read it with the reason (`x-death`). No app reads that queue or publishes into its",
        "  exchange.",
        f"- Publish with confirms: every app queue holds at most {APP_QUEUE_LIMIT:,}".replace(
            ",", " "
        )
        + f" messages and {APP_QUEUE_MIB} MiB; beyond either",
        "  the broker refuses the publish (a nack) and keeps what it holds. The refusal is the",
        "  app's to handle: the gateway answers its caller 503 with `Retry-After`.",
        f"- Connect with a heartbeat of at most {HEARTBEAT_S} s (the broker proposes it; "
        "some clients send their",
        "  own, e.g. aio-pika's `heartbeat=` and pika's `heartbeat`), and consume with a "
        "prefetch (`basic.qos`)",
        "  no larger than what one replica works on at once: a replica on a node that "
        "vanished holds no more",
        "  than that, and the broker hands it back to another replica once the heartbeats stop.",
        "- Trace context travels in the message headers `traceparent` and `tracestate`",
        "  (W3C, `OTEL_PROPAGATORS`); a consumer continues the producer's trace.",
        "",
    ]
    return "\n".join(lines)
