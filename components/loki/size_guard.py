"""Loki's disk bound by size as well as by time (pure: no resources created here).

Loki's compactor deletes by age only (no retention by size: grafana/loki#5659, #6876), but
it reads each tenant's `retention_period` from its runtime configuration file afresh at
every pass (pkg/compactor/retention/expiration.go: Expired asks the limits for the
tenant's period; the file's `overrides` map, reloaded every `runtime_config.period`:
pkg/loki/runtime_config.go). So the store's container starts a size guard before Loki
(size_guard.sh, run by the image's busybox): every PERIOD_S it measures Loki's volume and,
when it holds more than the budget, writes the longest retention in whole days whose logs
fit as the tenant's override (the single tenant of `auth_enabled: false` is "fake"); Loki
deletes the older logs at its next compaction pass and after its delete delay
(files.DELETE_DELAY). While everything fits, the file overrides nothing.

The guard runs in Loki's own container, on every target: it needs Loki's volume, which a
Swarm shares with no other task. It logs one logfmt line a round; Alloy counts the rounds
that shortened the retention and those where even one day does not fit (COUNT), and
monitoring/prometheus/rules/loki.yml alerts on both. The store's health check fails when
the guard stopped writing (its file older than three rounds).

Proven on Debian's busybox against a volume of chunk files of known ages and sizes
(tests/integration/test_loki_size_guard.py); no Loki binary runs here, so Loki reading the
file is its source's, cited above."""

from __future__ import annotations

from pathlib import Path

from components.docker.spec import CONFIG_DIR, Healthcheck
from components.log_counts import Counter, LogCount
from components.loki.files import STORE_NAME

SCRIPT = f"{CONFIG_DIR}/size-guard.sh"
SHELL = "/busybox/sh"
"""The image's shell (distroless static:debug carries busybox in /busybox)."""
DAYS_HOURS = 24
TENANT = "fake"
"""Loki's tenant when auth_enabled is false (its operations docs, "Multi-tenancy")."""
PERIOD_S = 300
BUDGET_GIB = 10
"""Loki's volume: what its logs may take (index, WAL and compactor included)."""
STALE_MINUTES = 3 * PERIOD_S // 60
STATE = "size_guard"
"""The logfmt key of each round's outcome: ok, capped or over (size_guard.sh)."""


def script() -> str:
    return Path(__file__).with_name("size_guard.sh").read_text(encoding="utf-8")


def environment(data: str, runtime_file: str, retention_hours: int) -> dict[str, str]:
    if retention_hours % DAYS_HOURS:
        raise ValueError(f"Loki's retention is kept in whole days, not {retention_hours} h")
    return {
        "VOS_LOKI_DATA": data,
        "VOS_LOKI_BUDGET_KIB": str(BUDGET_GIB * 1024 * 1024),
        "VOS_LOKI_RETENTION_DAYS": str(retention_hours // DAYS_HOURS),
        "VOS_LOKI_GUARD_PERIOD": str(PERIOD_S),
        "VOS_LOKI_RUNTIME_FILE": runtime_file,
        "VOS_LOKI_TENANT": TENANT,
    }


def healthcheck(port: int, runtime_file: str) -> Healthcheck:
    """Loki listens (its port in LISTEN state, 0A, in the kernel's socket tables: busybox's
    nc may lack -z) and its guard wrote within three rounds."""
    listening = (
        "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        f"awk '$4 == \"0A\" && $2 ~ /:{port:04X}$/ {{ up = 1 }} END {{ exit !up }}'"
    )
    return Healthcheck(
        [SHELL, "-c", f'{listening} && [ -n "$(find {runtime_file} -mmin -{STALE_MINUTES})" ]']
    )


CAPPED = Counter(
    "loki_retention_capped_total",
    "Rounds of Loki's size guard that shortened the retention to keep within its budget",
    STATE,
    "capped",
)
OVER = Counter(
    "loki_over_budget_total",
    "Rounds of Loki's size guard where one day of logs takes more than its budget",
    STATE,
    "over",
)
COUNT = LogCount(
    service=STORE_NAME,
    parser="logfmt",
    fields=(STATE,),
    stream="stderr",
    line_filter=f"caller=size-guard {STATE}=",
    counters=(CAPPED, OVER),
)
