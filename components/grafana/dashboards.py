"""The platform's dashboards, as code. Every PromQL reads metrics that an exporter here
provides (checked on real servers by tests/integration/test_monitoring.py) or that the app
contract promises (components/app/contract.py METRICS); every datasource is provisioned.
Pure."""

from __future__ import annotations

from typing import Any

from components.grafana.backup_panels import backup_panels
from components.grafana.dashboard_model import (
    JAEGER,
    LOKI,
    RATE,
    Panel,
    Query,
    custom_variable,
    dashboard,
    query_variable,
)
from components.grafana.errors_dashboard import errors
from components.grafana.replica_panels import requests_by_replica, tasks_by_replica

GATEWAY_JOB = 'job="api-gateway"'
AGENTS = 'job=~"$agent"'
HTTP = "http_server_request_duration_seconds"
REQUESTS = f"rate({HTTP}_count{{{GATEWAY_JOB}}}[{RATE}])"
ERRORS = f'rate({HTTP}_count{{{GATEWAY_JOB}, http_response_status_code=~"5.."}}[{RATE}])'
BUCKETS = f"rate({HTTP}_bucket{{{GATEWAY_JOB}}}[{RATE}])"


def overview() -> dict[str, Any]:
    return dashboard(
        "vos-overview",
        "VOS / Platform overview",
        "Is every target up, what fires, what restarts, does every TLS endpoint answer.",
        [
            Panel("Targets up", (Query("sum by (job) (up)", "{{job}}"),), "stat"),
            # The seed plan's signals: request rate, p95, error rate, queue depth.
            Panel("Gateway requests", (Query(f"sum({REQUESTS})", "requests"),), unit="reqps"),
            Panel(
                "Gateway p95",
                (Query(f"histogram_quantile(0.95, sum by (le) ({BUCKETS}))", "p95"),),
                unit="s",
            ),
            Panel(
                "Gateway 5xx ratio",
                (Query(f"sum({ERRORS}) / sum({REQUESTS})", "5xx"),),
                unit="percentunit",
            ),
            Panel(
                "Queue depth",
                (Query("sum by (queue) (rabbitmq_detailed_queue_messages_ready)", "{{queue}}"),),
            ),
            Panel(
                "Firing alerts",
                (
                    Query(
                        'sum by (alertname, severity) (ALERTS{alertstate="firing"})',
                        "{{alertname}} ({{severity}})",
                    ),
                ),
                "table",
            ),
            Panel(
                "Restarts (1 h)",
                (Query("sum by (job) (changes(process_start_time_seconds[1h]))", "{{job}}"),),
            ),
            Panel("TLS probes", (Query("probe_success", "{{instance}}"),), "stat"),
        ],
    )


def gateway() -> dict[str, Any]:
    return dashboard(
        "vos-gateway",
        "VOS / API gateway",
        "Traffic, errors and latency of the API gateway (OpenTelemetry HTTP server metrics).",
        [
            Panel(
                "Requests by status",
                (
                    Query(
                        f"sum by (http_response_status_code) ({REQUESTS})",
                        "{{http_response_status_code}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "5xx ratio",
                (
                    Query(
                        f"sum({ERRORS}) / sum({REQUESTS})",
                        "5xx",
                    ),
                ),
                unit="percentunit",
            ),
            Panel(
                "Latency p50 / p95 / p99",
                tuple(
                    Query(
                        f"histogram_quantile({q}, sum by (le) ({BUCKETS}))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ),
                unit="s",
            ),
            Panel(
                "p95 by route",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (http_route, le) "
                        f"(rate({HTTP}_bucket{{{GATEWAY_JOB}}}[{RATE}])))",
                        "{{http_route}}",
                    ),
                ),
                unit="s",
            ),
            requests_by_replica(GATEWAY_JOB),
        ],
    )


def agents() -> dict[str, Any]:
    return dashboard(
        "vos-agents",
        "VOS / Agents",
        "Tasks, language model calls and tools of every agent (the app contract's metrics).",
        [
            Panel("Agents up", (Query(f"up{{{AGENTS}}}", "{{job}}"),), "stat"),
            tasks_by_replica(AGENTS),
            Panel(
                "Tasks by outcome",
                (
                    Query(
                        f"sum by (job, outcome) (rate(vos_agent_tasks_total{{{AGENTS}}}[{RATE}]))",
                        "{{job}} {{outcome}}",
                    ),
                ),
                unit="ops",
            ),
            Panel("Busy", (Query(f"vos_agent_busy{{{AGENTS}}}", "{{job}}"),)),
            Panel(
                "LLM call p95 by model",
                (
                    Query(
                        "histogram_quantile(0.95, sum by (job, model, le) "
                        f"(rate(vos_agent_llm_call_duration_seconds_bucket{{{AGENTS}}}[{RATE}])))",
                        "{{job}} {{model}}",
                    ),
                ),
                unit="s",
            ),
            Panel(
                "Tool failures",
                (
                    Query(
                        "sum by (job, tool) (rate(vos_agent_tool_executions_total"
                        f'{{{AGENTS}, outcome="error"}}[{RATE}]))',
                        "{{job}} {{tool}}",
                    ),
                ),
                unit="ops",
            ),
        ],
        [query_variable("agent", "Agent", 'up{job=~".+-agent"}', "job")],
    )


def rabbitmq() -> dict[str, Any]:
    return dashboard(
        "vos-rabbitmq",
        "VOS / RabbitMQ",
        "Queues (per-queue series of /metrics/detailed), connections and alarms.",
        [
            Panel(
                "Messages ready by queue",
                (Query("sum by (queue) (rabbitmq_detailed_queue_messages_ready)", "{{queue}}"),),
            ),
            Panel(
                "Consumers by queue",
                (Query("sum by (queue) (rabbitmq_detailed_queue_consumers)", "{{queue}}"),),
            ),
            Panel("Connections", (Query("sum(rabbitmq_connections)", "connections"),)),
            Panel(
                "Published / delivered",
                (
                    Query(
                        f"sum(rate(rabbitmq_channel_messages_published_total[{RATE}]))", "published"
                    ),
                    Query(
                        f"sum(rate(rabbitmq_channel_messages_delivered_total[{RATE}]))", "delivered"
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Resource alarms",
                (
                    Query(
                        "max(rabbitmq_alarms_memory_used_watermark + "
                        "rabbitmq_alarms_free_disk_space_watermark + "
                        "rabbitmq_alarms_file_descriptor_limit)",
                        "alarms",
                    ),
                ),
                "stat",
            ),
        ],
    )


def postgres() -> dict[str, Any]:
    return dashboard(
        "vos-postgres",
        "VOS / PostgreSQL",
        "Read by postgres_exporter as the pg_monitor-only role vos_monitor; the backups "
        "as the backup service reports them.",
        [
            Panel("Up", (Query("pg_up", "{{instance}}"),), "stat"),
            Panel(
                "Connections by state",
                (
                    Query(
                        "sum by (datname, state) (pg_stat_activity_count)", "{{datname}} {{state}}"
                    ),
                    Query("sum(pg_settings_max_connections)", "max"),
                ),
            ),
            Panel(
                "Commits / rollbacks",
                (
                    Query(
                        f"sum by (datname) (rate(pg_stat_database_xact_commit[{RATE}]))",
                        "{{datname}} commit",
                    ),
                    Query(
                        f"sum by (datname) (rate(pg_stat_database_xact_rollback[{RATE}]))",
                        "{{datname}} rollback",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Cache hit ratio",
                (
                    Query(
                        "sum by (datname) (pg_stat_database_blks_hit) / (sum by (datname) "
                        "(pg_stat_database_blks_hit) + sum by (datname) "
                        "(pg_stat_database_blks_read))",
                        "{{datname}}",
                    ),
                ),
                unit="percentunit",
            ),
            Panel(
                "Deadlocks (10 min)",
                (
                    Query(
                        "sum by (datname) (increase(pg_stat_database_deadlocks[10m]))",
                        "{{datname}}",
                    ),
                ),
            ),
            *backup_panels(),
        ],
    )


def certificates() -> dict[str, Any]:
    return dashboard(
        "vos-certificates",
        "VOS / Certificates and TLS",
        "Days left on each endpoint's certificate and its TLS version, from the blackbox probes.",
        [
            Panel(
                "Days until expiry",
                (Query("(probe_ssl_earliest_cert_expiry - time()) / 86400", "{{instance}}"),),
                "table",
                unit="d",
            ),
            Panel("Probe success", (Query("probe_success", "{{instance}}"),), "stat"),
            Panel(
                "TLS version",
                (Query("probe_tls_version_info", "{{instance}} {{version}}"),),
                "table",
            ),
            Panel(
                "Handshake time",
                (Query('probe_duration_seconds{job="blackbox"}', "{{instance}}"),),
                unit="s",
            ),
        ],
    )


def logs(services: list[str]) -> dict[str, Any]:
    stream = '{service=~"$service"}'
    return dashboard(
        "vos-logs",
        "VOS / Logs",
        "Every container's logs, shipped by Alloy to Loki, labelled by service.",
        [
            Panel(
                "Log lines by service",
                (
                    Query(
                        f"sum by (service) (count_over_time({stream}[$__interval]))", "{{service}}"
                    ),
                ),
                datasource=LOKI,
                width=24,
            ),
            Panel("Logs", (Query(stream),), "logs", datasource=LOKI, width=24),
        ],
        [custom_variable("service", "Service", services)],
    )


def traces(services: list[str]) -> dict[str, Any]:
    return dashboard(
        "vos-traces",
        "VOS / Traces",
        "Traces from the gateway and the agents (OTLP to Jaeger), searched through Grafana.",
        [
            Panel(
                "Recent traces",
                (Query(""),),
                "table",
                datasource=JAEGER,
                width=24,
                extra_target={"queryType": "search", "service": "$service", "limit": 50},
            ),
            Panel(
                "Service dependencies",
                (Query(""),),
                "nodeGraph",
                datasource=JAEGER,
                width=24,
                extra_target={"queryType": "dependencyGraph"},
            ),
        ],
        [custom_variable("service", "Service", services)],
    )


def all_dashboards(
    logs_from: list[str] | None, traced: list[str] | None
) -> dict[str, dict[str, Any]]:
    """File name -> dashboard. `logs_from`: the services whose logs Loki has (None: no
    Loki); `traced`: the services that send traces (None: no Jaeger)."""
    found = [overview(), gateway(), agents(), rabbitmq(), postgres(), certificates()]
    found.append(errors(logs_from))
    if logs_from is not None:
        found.append(logs(logs_from))
    if traced is not None:
        found.append(traces(traced))
    return {f"{d['uid']}.json": d for d in found}
