"""The errors dashboard, as code: where the platform fails its callers and its agents fail
their tasks, in one place. The gateway's and agents' series are the app contract's; the
edge's 5xx and the sidecars' failed reads of Vault are counted by Alloy from log lines
(components/log_counts.py); error lines come from Loki (the apps' JSON `level`). Pure."""

from __future__ import annotations

from typing import Any

from components.edge.access_log import COUNT as EDGE_COUNTS
from components.grafana.dashboard_model import LOKI, RATE, Panel, Query, dashboard
from components.vault_agent.failures import METRIC as VAULT_FAILURES

GATEWAY = 'job="api-gateway"'
HTTP = "http_server_request_duration_seconds"
SERVER_ERROR = 'http_response_status_code=~"5.."'
TASKS = "vos_agent_tasks_total"


def _edge(name: str) -> str:
    [metric] = [c.metric for c in EDGE_COUNTS.counters if c.name == name]
    return metric


def errors(logs_from: list[str] | None) -> dict[str, Any]:
    """`logs_from`: the services whose logs Loki has (None: no Loki, no log panels)."""
    panels = [
        Panel(
            "Gateway 5xx by route",
            (
                Query(
                    "sum by (http_route) "
                    f"(rate({HTTP}_count{{{GATEWAY}, {SERVER_ERROR}}}[{RATE}]))",
                    "{{http_route}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Edge answers that are 5xx",
            (
                Query(
                    f"sum(rate({_edge('edge_server_errors_total')}[{RATE}])) / "
                    f"sum(rate({_edge('edge_requests_total')}[{RATE}]))",
                    "5xx",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Agent tasks that fail",
            (
                Query(
                    f'sum by (job) (rate({TASKS}{{outcome="error"}}[{RATE}])) / '
                    f"sum by (job) (rate({TASKS}[{RATE}]))",
                    "{{job}}",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Sidecars' failed reads of Vault",
            (Query(f"sum by (service) (increase({VAULT_FAILURES}[{RATE}]))", "{{service}}"),),
        ),
    ]
    if logs_from is not None:
        errors_only = '{service=~".+"} | json | level="error"'
        panels += [
            Panel(
                "Error lines by service",
                (
                    Query(
                        f"sum by (service) (count_over_time({errors_only} [$__interval]))",
                        "{{service}}",
                    ),
                ),
                datasource=LOKI,
                width=24,
            ),
            Panel("Error lines", (Query(errors_only),), "logs", datasource=LOKI, width=24),
        ]
    return dashboard(
        "vos-errors",
        "VOS / Errors",
        "Where requests and tasks fail: 5xx by route, the edge's 5xx, agents' failed tasks, "
        "sidecars that cannot read Vault, and the error lines of every service.",
        panels,
    )
