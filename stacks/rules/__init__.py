"""Rules that relate several settings to each other, one module per area, run together.

They run on the merged raw values (profile + stack config) rather than on the validated
model, so they are reported in the same batch as single-field problems: an operator fixes
everything in one round. Values of the wrong type are skipped here; the field rules already
report them.

A new area (an egress allow-list, CORS, replicas, backups ...) is a module here with rules
of the `Rule` shape and one line in `RULES`.
"""

from __future__ import annotations

from stacks.problems import Problem
from stacks.rules import (
    agents,
    alerting,
    backend,
    backup,
    edge,
    egress,
    images,
    services,
    swarm,
    tls,
    vault,
)
from stacks.rules.raw import Raw, Rule
from stacks.services import Catalogue

RULES: tuple[Rule, ...] = (
    images.prod_digests,
    images.image_sources,
    tls.windows,
    services.dependencies,
    agents.agents,
    services.published_ports,
    services.names_for_published_services,
    vault.renewal_and_verification,
    vault.for_apps,
    backend.required_in_prod,
    alerting.receivers,
    alerting.heartbeat,
    alerting.critical_in_prod,
    alerting.webhook_release,
    backup.s3_store,
    backup.restored_volume,
    backup.weaviate_on_swarm,
    egress.exact_names_in_prod,
    egress.proxy_for_destinations,
    edge.one_limit_per_path,
    edge.no_wildcard_with_credentials,
    edge.exact_https_origins_in_prod,
    edge.consoles_served,
    swarm.builds,
    swarm.published_entry_only,
    swarm.replicas,
    swarm.app_nodes,
    swarm.prod_encryption,
)
"""Every cross-setting rule, in the order their problems are reported."""


def check_relations(raw: Raw, catalogue: Catalogue) -> list[Problem]:
    """Every problem of every rule, all at once."""
    return [problem for rule in RULES for problem in rule(raw, catalogue)]
