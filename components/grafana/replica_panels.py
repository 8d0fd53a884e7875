"""Panels per replica: on a Swarm an app runs as several tasks, scraped by address
(`tasks.<app>`), so a series knows its replica only by `instance`. Each app's `vos_app_info`
(the app contract's Metrics) carries the node and the task of that instance; these panels
join it in. On one host the node and task are empty and each app has one row. Pure."""

from __future__ import annotations

from components.grafana.dashboard_model import RATE, Panel, Query

WHERE = "on (job, instance) group_left (node, task) vos_app_info"


def requests_by_replica(selector: str) -> Panel:
    """The gateway's requests a second, per node and task."""
    return _by_replica("Requests by replica", "http_server_request_duration_seconds_count",
                       selector, "node, task", "reqps")  # fmt: skip


def tasks_by_replica(selector: str) -> Panel:
    """The agents' tasks a second, per agent, node and task."""
    return _by_replica("Tasks by replica", "vos_agent_tasks_total", selector, "job, node, task",
                       "ops")  # fmt: skip


def _by_replica(title: str, counter: str, selector: str, labels: str, unit: str) -> Panel:
    """A counter's rate summed by `labels` (those of vos_app_info among them), one series
    each, named by the same labels."""
    rate = f"rate({counter}{{{selector}}}[{RATE}])"
    legend = " ".join("{{" + label + "}}" for label in labels.split(", "))
    return Panel(title, (Query(f"sum by ({labels}) ({rate} * {WHERE})", legend),), unit=unit)
