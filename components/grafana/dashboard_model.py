"""Grafana's dashboard JSON model (the raw "JSON model" provisioning reads, never the HTTP
API's `{"dashboard": ...}` wrapper), built from small pieces. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.grafana.datasources import JAEGER_UID, LOKI_UID, PROMETHEUS_UID

SCHEMA_VERSION = 39
"""Grafana 11.0's; Grafana migrates older models on load (12.x and 13 included)."""
PROMETHEUS = {"type": "prometheus", "uid": PROMETHEUS_UID}
LOKI = {"type": "loki", "uid": LOKI_UID}
JAEGER = {"type": "jaeger", "uid": JAEGER_UID}
RATE = "$__rate_interval"
"""Grafana's range for rate(): at least four scrape intervals."""


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    unit: str | None = None
    datasource: dict[str, str] | None = None
    """PROMETHEUS unless given."""
    width: int = 12
    extra_target: dict[str, Any] | None = None
    """Fields every target of this panel carries besides `expr` (Jaeger's query type)."""


def _target(panel: Panel, query: Query, index: int, source: dict[str, str]) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": chr(ord("A") + index), "datasource": source}
    if query.expr:
        target["expr"] = query.expr
    if query.legend:
        target["legendFormat"] = query.legend
    return target | (panel.extra_target or {})


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Panel],
    variables: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Panels flow left to right, two to a row unless wider."""
    out, x, y = [], 0, 0
    for number, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y = 0, y + 8
        source = panel.datasource or PROMETHEUS
        entry: dict[str, Any] = {
            "id": number,
            "type": panel.kind,
            "title": panel.title,
            "gridPos": {"x": x, "y": y, "w": panel.width, "h": 8},
            "datasource": source,
            "targets": [_target(panel, q, i, source) for i, q in enumerate(panel.queries)],
            "fieldConfig": {
                "defaults": {"unit": panel.unit} if panel.unit else {},
                "overrides": [],
            },
            "options": {},
        }
        out.append(entry)
        x += panel.width
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["vos"],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables or []},
        "panels": out,
    }


def custom_variable(name: str, label: str, values: list[str]) -> dict[str, Any]:
    """A variable whose values are fixed by the code (e.g. the services), with All."""
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "query": ",".join(values),
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"text": "All", "value": "$__all"},
    }


def query_variable(name: str, label: str, selector: str, label_name: str) -> dict[str, Any]:
    """A variable listing the values of `label_name` on the series `selector` selects."""
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": PROMETHEUS,
        "query": {"query": f"label_values({selector}, {label_name})", "refId": "vars"},
        "definition": f"label_values({selector}, {label_name})",
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "refresh": 2,
        "current": {"text": "All", "value": "$__all"},
    }
