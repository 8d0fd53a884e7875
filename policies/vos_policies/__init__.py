"""The vos-infra CrossGuard policy pack: its rules, grouped by concern. Importing this never
starts the pack (policies/__main__.py does, and only that)."""

from __future__ import annotations

from vos_policies import (
    containers,
    credentials,
    egress,
    images,
    network,
    observability,
    provider,
    swarm,
    tls,
    vault,
)
from vos_policies.rule import Rule

PACK_NAME = "vos-infra"

RULES: list[Rule] = [
    *containers.RULES,
    *provider.RULES,
    *network.RULES,
    *tls.RULES,
    *credentials.RULES,
    *images.RULES,
    *vault.RULES,
    *observability.RULES,
    *egress.RULES,
    *swarm.RULES,
]
