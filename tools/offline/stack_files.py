"""Read a stack's Pulumi.<stack>.yaml the way the CLI hands it to the program.

Object and list values become JSON strings (that is how the language host receives them).
`secure:` values are encrypted with the stack's secrets provider and cannot be decrypted
offline; they are replaced with a marked placeholder and flagged secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.values import load_yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"  # noqa: S105


@dataclass(frozen=True)
class StackConfig:
    values: dict[str, str]
    secret_keys: list[str]


def available_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"no stack file {path.name}; known stacks: {', '.join(available_stacks(project_dir))}"
        )
    document = load_yaml(path) or {}
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = OFFLINE_SECRET_PLACEHOLDER
            secret_keys.append(key)
        else:
            values[key] = _encode(value)
    return StackConfig(values, secret_keys)


def with_overrides(config: StackConfig, **overrides: Any) -> StackConfig:
    """A copy of `config` with some top-level `vos-infra:` keys replaced."""
    values = dict(config.values)
    for key, value in overrides.items():
        values[f"vos-infra:{key}"] = _encode(value)
    return StackConfig(values, list(config.secret_keys))
