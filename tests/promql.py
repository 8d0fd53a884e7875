"""PromQL read as a syntax tree (promql-parser, the Rust parser's Python binding): which
metrics an expression reads, and whether each histogram_quantile keeps `le`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import promql_parser


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for attribute in ("expr", "lhs", "rhs", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _nodes(child)
    for child in getattr(node, "args", None) or []:
        yield from _nodes(child)


def parse(expr: str) -> Any:
    """The tree; raises ValueError on bad syntax."""
    return promql_parser.parse(expr)


def metric_names(expr: str) -> set[str]:
    """Every metric an expression selects (by name or by `__name__=` matcher)."""
    names = set()
    for node in _nodes(parse(expr)):
        if type(node).__name__ != "VectorSelector":
            continue
        if node.name:
            names.add(str(node.name))
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__":
                names.add(str(matcher.value))
    return names


def quantiles_without_le(expr: str) -> list[str]:
    """histogram_quantile calls whose aggregation drops `le` (they return nothing)."""
    bad = []
    for node in _nodes(parse(expr)):
        if type(node).__name__ != "Call" or node.func.name != "histogram_quantile":
            continue
        inner = node.args[1]
        while type(inner).__name__ == "ParenExpr":
            inner = inner.expr
        if type(inner).__name__ == "AggregateExpr":
            modifier = inner.modifier
            if modifier is None:
                keeps = False  # sum(...) drops every label, `le` too
            elif modifier.type == promql_parser.AggModifierType.By:
                keeps = "le" in modifier.labels
            else:
                keeps = "le" not in modifier.labels
            if not keeps:
                bad.append(node.prettify())
    return bad


def dashboard_queries(model: dict[str, Any]) -> list[str]:
    """Every PromQL of a Grafana dashboard, Grafana's variables given the values Grafana
    would."""
    found = []
    for panel in model["panels"]:
        for target in panel["targets"]:
            if target["datasource"]["type"] == "prometheus":
                expr = target["expr"]
                for variable, value in (("$__rate_interval", "1m"), ("$__interval", "1m")):
                    expr = expr.replace(variable, value)
                found.append(re.sub(r"\$\w+", ".+", expr))
    return found
