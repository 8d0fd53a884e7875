"""The policy pack's entry: the CLI runs `python -u -m pulumi.policy <engine> <this folder>`
with this folder as working directory, which runs this file. It only assembles the pack;
the rules live in vos_policies/. Nothing may print to stdout before the pack's port line."""

from pulumi_policy import EnforcementLevel, PolicyPack
from vos_policies import PACK_NAME, RULES

PolicyPack(
    name=PACK_NAME,
    policies=[rule.policy() for rule in RULES],
    # The environment's config (policies/per-environment/<env>.json) sets each level.
    enforcement_level=EnforcementLevel.MANDATORY,
)
