"""How much the stores of metrics and logs keep: `retention.{prometheus,loki}.{days,gib}`,
whichever bound is reached first (each key on its own: the others keep their defaults).
Prometheus enforces both itself (`--storage.tsdb.retention.{time,size}`); Loki deletes by
age only, so its size bound is its size guard's (components/loki/size_guard.py), in whole
days."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from stacks.fields import Model

DAYS_MAX = 3650
GIB_MAX = 65536


def _days(default: int) -> Any:
    return Field(
        default=default, ge=1, le=DAYS_MAX, description=f"days of data kept at most (1-{DAYS_MAX})"
    )


def _gib(default: int) -> Any:
    return Field(
        default=default,
        ge=1,
        le=GIB_MAX,
        description=f"GiB its volume may take at most (1-{GIB_MAX}); the oldest data goes first",
    )


class PrometheusRetention(Model):
    days: int = _days(15)
    gib: int = _gib(8)


class LokiRetention(Model):
    days: int = _days(7)
    gib: int = _gib(10)


class RetentionSettings(Model):
    prometheus: PrometheusRetention = PrometheusRetention()
    loki: LokiRetention = LokiRetention()
