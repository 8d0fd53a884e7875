"""The reference apps' signals on the real Prometheus: every app metric an alert rule or a
dashboard reads is in what it scraped from them, and the gateway's and agents' alerts go
pending from real series when errors and slow requests are driven through the edge.

Pending is the alert's condition holding on Prometheus's own evaluation of the deployed rule
files; the `for:` durations (5 to 30 minutes) that turn it into firing are promtool-tested
(monitoring/prometheus/tests), not waited for here. Two agent alerts are not driven:
AgentLLMLatencyHigh needs model calls over 30 s and AgentStuckProcessing a task busy for
5 minutes, beyond what the tier can spend."""

from __future__ import annotations

import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml

from components.app.contract import METRICS, metric_series
from components.grafana.dashboards import all_dashboards
from components.prometheus import files as prometheus
from tests.docker.probes import APPS, api_key, eventually, https_call, prometheus_api
from tests.docker.stack import Stack
from tests.promql import dashboard_queries, metric_names
from tools.offline.rendered import containers

SLOW = 12
"""Requests left waiting for an agent that cannot answer (the gateway's 504 after 10 s):
enough to be over 5% of the gateway's requests in 5 minutes with its healthchecks."""


def _read_by_alerts_and_dashboards(stack: Stack) -> set[str]:
    """The metrics the stack's rule files (as Prometheus was given them) and dashboards read."""
    rendered = containers(stack.evaluation)["prometheus"]
    queries = [
        str(rule["expr"])
        for path, file in rendered.files.items()
        if path.startswith(f"{prometheus.RULES_DIR}/")
        for group in yaml.safe_load(file.content)["groups"]
        for rule in group["rules"]
    ]
    for model in all_dashboards([], []).values():
        queries += dashboard_queries(model)
    return {name for query in queries for name in metric_names(query)}


def _query(stack: Stack, promql: str) -> list[dict[str, Any]]:
    status, body = prometheus_api(stack, f"/api/v1/query?query={urllib.parse.quote(promql)}")
    assert status == 200, body
    return list(body["data"]["result"])


def _scrape_seconds(stack: Stack) -> int:
    config = yaml.safe_load(containers(stack.evaluation)["prometheus"].file(prometheus.CONFIG))
    return int(str(config["global"]["scrape_interval"]).removesuffix("s"))


def _pending(stack: Stack) -> set[tuple[str, str, str]]:
    """(alert name, job, tool) of every alert pending or firing."""
    status, body = prometheus_api(stack, "/api/v1/alerts")
    assert status == 200, body
    return {
        (a["labels"]["alertname"], a["labels"].get("job", ""), a["labels"].get("tool", ""))
        for a in body["data"]["alerts"]
    }


DRIVEN = {
    ("ApiHighErrorRate", "api-gateway", ""),
    ("ApiHighLatencyP95", "api-gateway", ""),
    ("AgentToolFailureRate", "weather-agent", "reverse"),
}
"""What only this test's traffic can raise (the earlier modules send no 5xx, no slow request
and no failing `reverse` task; the PostgreSQL switch-over, which may, comes after: conftest.py
MODULE_ORDER): none may be pending before it."""


def test_the_gateway_and_agent_alerts_go_pending_from_errors_driven_through_the_edge(
    stack: Stack,
) -> None:
    assert not DRIVEN & _pending(stack), _pending(stack)
    key = {"X-API-Key": api_key(stack)}

    def task(agent: str, text: str) -> int:
        return https_call(stack, "POST", f"/api/v1/agents/{agent}/tasks", {"input": text}, key)[0]

    # Traffic, paced under the edge's overall limit: tasks that fail at the weather agent
    # (the gateway answers 200 with the agent's error) and some that succeed.
    for i in range(60):
        assert task("weather", "fail" if i % 2 else "ok") == 200
        time.sleep(0.1)
    # Requests the gateway cannot answer: the primary agent frozen, each waits for the
    # gateway's 504 (an error and a slow request at once).
    # In two rounds a scrape apart: a series is born at its first scrape, and rate() counts
    # only what it gains after that (a first round alone would be an increase of nothing).
    agent = stack.container("primary-agent")
    statuses = []
    for requests in (1, SLOW):
        agent.pause()
        try:
            with ThreadPoolExecutor(requests) as pool:
                statuses += pool.map(lambda _: task("primary", "x"), range(requests))
        finally:
            agent.unpause()
        time.sleep(_scrape_seconds(stack) + 2)
    assert statuses == [504] * (1 + SLOW), statuses
    wanted = DRIVEN | {("AgentTaskFailureRate", "weather-agent", "")}
    assert eventually(lambda: wanted <= _pending(stack), seconds=120), _pending(stack)


def test_every_app_metric_an_alert_or_a_dashboard_reads_is_scraped_from_the_apps(
    stack: Stack,
) -> None:
    contract = {series for metric in METRICS for series in metric_series(metric)}
    wanted = _read_by_alerts_and_dashboards(stack) & contract
    assert wanted, "no rule or dashboard reads an app metric"
    jobs = "|".join(APPS)
    selector = f'{{__name__=~"{"|".join(sorted(wanted))}", job=~"{jobs}"}}'

    def scraped() -> set[str]:
        return {r["metric"]["__name__"] for r in _query(stack, f"count by (__name__) ({selector})")}

    assert eventually(lambda: scraped() >= wanted, seconds=60), wanted - scraped()


def test_the_replica_panels_join_each_app_s_node_and_task(stack: Stack) -> None:
    """`vos_app_info` joined by instance on the real Prometheus: one row per replica of each
    app (on one host one each, node and task empty, so Prometheus drops those labels)."""
    from components.grafana.dashboards import AGENTS, GATEWAY_JOB
    from components.grafana.replica_panels import requests_by_replica, tasks_by_replica

    agents = {app for app in APPS if app.endswith("-agent")}
    for panel, jobs in (
        (requests_by_replica(GATEWAY_JOB), {"api-gateway"}),
        (tasks_by_replica(AGENTS), agents),
    ):
        promql = panel.queries[0].expr
        promql = promql.replace("$__rate_interval", "2m").replace("$agent", ".+-agent")

        def joined(promql: str = promql, jobs: set[str] = jobs) -> bool:
            found = _query(stack, promql)
            return len(found) == len(jobs) and {r["metric"].get("job", "api-gateway")
                                                for r in found} == jobs  # fmt: skip

        assert eventually(joined, seconds=60), (promql, _query(stack, promql))
