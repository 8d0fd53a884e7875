"""Check resources against the pack with an environment's policy config: what
`pulumi preview --policy-pack policies --policy-pack-config
policies/per-environment/<env>.json` would report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.policy.analyzer import Analyzer, Diagnostic
from tools.policy.config import load
from tools.policy.resources import PolicyInput


@dataclass(frozen=True)
class Report:
    environment: str
    policies: int
    resources: int
    diagnostics: list[Diagnostic]
    remediations: dict[str, str]

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "mandatory"]

    def text(self) -> str:
        lines = []
        for d in sorted(self.diagnostics, key=lambda d: (d.level != "mandatory", d.policy, d.urn)):
            lines.append(f"[{d.level}] {d.policy}: {d.urn.rsplit('::', 1)[-1] or 'stack'}")
            lines.append(f"    {d.message}")
            lines.append(f"    fix: {self.remediations.get(d.policy, '')}")
        verdict = "FAILED" if self.mandatory else "passed"
        lines.append(
            f"policy check {verdict} ({self.environment}): {self.resources} resources, "
            f"{self.policies} policies, {len(self.mandatory)} mandatory and "
            f"{len(self.diagnostics) - len(self.mandatory)} advisory violations"
        )
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "environment": self.environment,
                "passed": not self.mandatory,
                "resources": self.resources,
                "policies": self.policies,
                "violations": [
                    asdict(d) | {"remediation": self.remediations.get(d.policy, "")}
                    for d in self.diagnostics
                ],
            },
            indent=2,
        )


def check(resources: Sequence[PolicyInput], environment: str, config: Path) -> Report:
    with Analyzer() as pack:
        info = pack.info()
        names = [p.name for p in info.policies]
        settings = load(config, names)
        pack.configure(settings.levels, settings.properties)
        diagnostics = [d for r in resources for d in pack.analyze(r)]
        diagnostics += pack.analyze_stack(resources)
    remediations = {p.name: p.remediation_steps for p in info.policies}
    return Report(environment, len(names), len(resources), diagnostics, remediations)
