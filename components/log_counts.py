"""Counts Alloy takes from a service's log lines, declared as data (pure).

Some services have no metrics endpoint for what an alert needs (Squid's refusals per app,
nginx's answers per status): their log lines say it, and every line already reaches Alloy.
A `LogCount` declares, for one service's stream, how a line is parsed, what is taken from
it and which counters it feeds; components/alloy/files.py renders it as a `stage.match`
block (loki.process: stage.logfmt or stage.json, stage.regex, stage.labels,
stage.metrics), and tests/integration/log_counts.py applies the same declaration to a real
server's lines, so the field names and expressions are proven on what the server writes.
Prometheus scrapes the counters from Alloy (components/prometheus/component.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREFIX = "vos_"
IDLE = "1h"
"""A series unchanged this long leaves Alloy's /metrics (Alloy's default, 5m, would drop a
quiet series between two bursts and make the second look like a reset)."""


@dataclass(frozen=True)
class Counter:
    name: str
    """Without PREFIX (Alloy adds it)."""
    description: str
    source: str | None = None
    """An extracted field; None counts every line."""
    value: str | None = None
    """Count only lines whose `source` is exactly this."""

    @property
    def metric(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True)
class Extract:
    """A named group of an RE2 expression (Python's `re` reads it alike), from a field."""

    source: str
    expression: str


@dataclass(frozen=True)
class LogCount:
    service: str
    """The service's DNS name: its stream's `service` label (with `suffix`, the end of every
    such name: every app's sidecar)."""
    counters: tuple[Counter, ...]
    parser: Literal["logfmt", "json"] | None = None
    """How a line is parsed into fields; None: it is not (a server's plain text log)."""
    fields: tuple[str, ...] = ()
    """Keys taken from the parsed line."""
    extracts: tuple[Extract, ...] = ()
    labels: tuple[str, ...] = ()
    """Extracted values that become labels of the stream (in Loki) and of the counters."""
    stream: str = "stdout"
    """Only this stream of its log (nginx and Squid write their errors to stderr: counting
    those lines too would count a refused request twice)."""
    suffix: bool = False
    line_filter: str | None = None
    """An RE2 expression a line must match to reach the counters (a LogQL line filter)."""

    @property
    def selector(self) -> str:
        """The LogQL selector (and line filter) of the lines it counts."""
        service = f'service=~".+{self.service}"' if self.suffix else f'service="{self.service}"'
        found = f'{{{service}, stream="{self.stream}"}}'
        if self.line_filter:
            escaped = self.line_filter.replace("\\", "\\\\").replace('"', '\\"')
            found += f' |~ "{escaped}"'
        return found
