"""Panels per replica: on a Swarm an app runs as several tasks, scraped by address
(`tasks.<app>`), so a series knows its replica only by `instance`. Each app's `vos_app_info`
(the app contract's Metrics) carries the node and the task of that instance; these panels
join it in. On one host the node and task are empty and each app has one row. Pure."""

from __future__ import annotations

from components.grafana.dashboard_model import RATE, Panel, Query

WHERE = "on (job, instance) group_left (node, task) vos_app_info"


def requests_by_replica(selector: str) -> Panel:
    """The gateway's requests a second, per node and task."""
    rate = f"rate(http_server_request_duration_seconds_count{{{selector}}}[{RATE}])"
    return Panel(
        "Requests by replica",
        (Query(f"sum by (node, task) ({rate} * {WHERE})", "{{node}} {{task}}"),),
        unit="reqps",
    )


def tasks_by_replica(selector: str) -> Panel:
    """The agents' tasks a second, per agent, node and task."""
    rate = f"rate(vos_agent_tasks_total{{{selector}}}[{RATE}])"
    return Panel(
        "Tasks by replica",
        (Query(f"sum by (job, node, task) ({rate} * {WHERE})", "{{job}} {{node}} {{task}}"),),
        unit="ops",
    )
