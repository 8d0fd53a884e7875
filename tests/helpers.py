"""Small helpers shared by the test suites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.offline.stack_files import StackConfig, read_stack_config, with_overrides

ROOT = Path(__file__).resolve().parents[1]


def stack_overrides(stack: str) -> dict[str, Any]:
    """The stack file's `vos-infra:*` values, decoded, without the namespace."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def profile(environment: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"{environment}.yaml").read_text())
    return loaded


def config_with(stack: str, **overrides: Any) -> StackConfig:
    """The stack's config with some top-level `vos-infra:` keys replaced."""
    return with_overrides(read_stack_config(stack), **overrides)
