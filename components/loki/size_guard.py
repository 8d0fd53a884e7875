"""Loki's disk bound by size as well as by time (pure: no resources created here).

Loki's compactor deletes by age only (no retention by size: grafana/loki#5659, #6876), but
it reads each tenant's `retention_period` from its runtime configuration file afresh at
every pass (pkg/compactor/retention/expiration.go: Expired asks the limits for the
tenant's period; the file's `overrides` map, reloaded every `runtime_config.period`:
pkg/loki/runtime_config.go). So the store's container starts a size guard before Loki
(size_guard.sh, run by the image's busybox): every PERIOD_S it walks Loki's volume once,
reading each chunk's newest line's time from its file name. Once what would stay after the
compactor's next pass holds more than the budget, it hands Loki the longest retention in
whole days that fits in 90 % of it as the tenant's override (the single tenant of
`auth_enabled: false` is "fake"), and gives it back a day a round once another average day
fits again. Loki deletes the older logs at its next compaction pass, after its delete delay
(files.DELETE_DELAY): the bound holds within about 2 h 15 min of logs. It cuts logs only:
an index, WAL or compactor folder alone past 90 % of the budget is reported, not answered
by deleting logs that would not help.

The guard runs in Loki's own container, on every target: it needs Loki's volume, which a
Swarm shares with no other task. It logs one logfmt line a round; Alloy counts the rounds
that shortened the retention, those no cut brings under the budget, and its failures
(COUNT); monitoring/prometheus/rules/loki.yml alerts on each, a round (5 minutes) late for
a series Alloy has just made (its first count is its first sample). The store's health
check fails when the guard stopped writing (its file older than three rounds).

Proven on Debian's busybox 1.35 with only its applets on PATH (the image carries
docker-library's musl build of busybox) against volumes of chunk files named as Loki names
them (tests/integration/test_loki_size_guard.py); no Loki binary runs here, so Loki reading
the file is its source's, cited above."""

from __future__ import annotations

from pathlib import Path

from components.docker.spec import CONFIG_DIR, Healthcheck
from components.log_counts import Counter, LogCount
from components.loki.files import CHUNKS, DATA, RUNTIME_FILE, STORE_NAME

SCRIPT = f"{CONFIG_DIR}/size-guard.sh"
SHELL = "/busybox/sh"
"""The image's shell (distroless static:debug carries busybox in /busybox)."""
DAY_HOURS = 24
TENANT = "fake"
"""Loki's tenant when auth_enabled is false (its operations docs, "Multi-tenancy")."""
PERIOD_S = 300
STALE_MINUTES = 3 * PERIOD_S // 60
STATE = "size_guard"
"""The logfmt key of each round's outcome: ok, capped, over or error (size_guard.sh)."""


def script() -> str:
    return Path(__file__).with_name("size_guard.sh").read_text(encoding="utf-8")


def environment(days: int, gib: int) -> dict[str, str]:
    """`days`: the retention Loki is configured with; `gib`: the budget of its volume (index,
    WAL and compactor included). Both retention.loki."""
    if days < 1 or gib < 1:
        raise ValueError(f"Loki keeps at least a day and a GiB, not {days} days and {gib} GiB")
    return {
        "VOS_LOKI_DATA": DATA,
        "VOS_LOKI_CHUNKS": CHUNKS,
        "VOS_LOKI_BUDGET_KIB": str(gib * 1024 * 1024),
        "VOS_LOKI_RETENTION_DAYS": str(days),
        "VOS_LOKI_GUARD_PERIOD": str(PERIOD_S),
        "VOS_LOKI_RUNTIME_FILE": RUNTIME_FILE,
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
    "Rounds of Loki's size guard where its volume passes the budget and cutting logs to one "
    "day cannot bring it under",
    STATE,
    "over",
)
FAILED = Counter(
    "loki_size_guard_errors_total",
    "Rounds of Loki's size guard that could not measure the volume or write Loki's file",
    STATE,
    "error",
)
COUNT = LogCount(
    service=STORE_NAME,
    parser="logfmt",
    fields=(STATE,),
    stream="stderr",
    line_filter=f"caller=size-guard {STATE}=",
    counters=(CAPPED, OVER, FAILED),
)
