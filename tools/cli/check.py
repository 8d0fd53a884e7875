"""`vos-infra check`: the policy pack over a stack, as `pulumi preview --policy-pack` runs it."""

from __future__ import annotations

from pathlib import Path

from tools.offline.runner import evaluate
from tools.policy.check import Report, check
from tools.policy.config import config_file
from tools.policy.resources import from_evaluation, from_preview


def run_check(stack: str, *, preview: bool, config: Path | None) -> Report:
    """Evaluate the stack under the material mocks (as `pulumi up`, or as `pulumi preview`
    with `preview`) and check what it registers."""
    evaluation = evaluate(stack, preview=preview)
    environment = evaluation.result.settings.environment
    return check(from_evaluation(evaluation), environment, config or config_file(environment))


def run_check_preview(path: Path, environment: str, config: Path | None) -> Report:
    """Check the JSON that `pulumi preview --json` printed (secrets there are opaque)."""
    return check(from_preview(path), environment, config or config_file(environment))
