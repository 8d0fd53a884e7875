"""How a sidecar failing to read Vault becomes a number Prometheus alerts on (pure data).

The agent writes its log to stderr as plain text; it logs each failed read of a secret
before it retries it (`(retry attempt N after "..")`) and each failed login
(`error authenticating`). Alloy counts those lines of every sidecar (components/log_counts.py:
every service whose name ends with the sidecars' suffix, a line filter, one counter), so
each sidecar has its own series (its `service` label), and
monitoring/prometheus/rules/vault.yml alerts while they go on: Vault unreachable, sealed, or
an AppRole that no longer reads. The lines are the ones real sidecars write while Vault is
stopped (tests/docker/test_fault_drills.py); no Alloy binary runs here."""

from __future__ import annotations

from components.log_counts import Counter, LogCount
from components.vault_agent.files import SIDECAR_SUFFIX

FAILED = r"retry attempt [0-9]+|error authenticating"
"""What the agent (bao agent 2.7, consul-template's view and the auth handler) logs for each
failed read or login."""
FAILURES = Counter(
    "vault_read_failures_total", "Reads of Vault and logins a sidecar failed (each is retried)"
)
COUNT = LogCount(
    service=SIDECAR_SUFFIX,
    suffix=True,
    stream="stderr",
    line_filter=FAILED,
    counters=(FAILURES,),
)
METRIC = FAILURES.metric
