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

from stacks.values import OFFLINE_SECRET_PLACEHOLDER, load_yaml

__all__ = ["OFFLINE_SECRET_PLACEHOLDER", "StackConfig", "read_stack_config"]
PROJECT_DIR = Path(__file__).resolve().parents[2]


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
        decoded, secure = _without_ciphertexts(value)
        values[key] = _encode(decoded)
        if secure:
            # As the engine marks it: a key is secret when any value inside it is
            # (pulumi/pulumi sdk/go/common/resource/config/map.go SecureKeys).
            secret_keys.append(key)
    return StackConfig(values, secret_keys)


def _without_ciphertexts(value: Any) -> tuple[Any, bool]:
    """`value` with every `{secure: <ciphertext>}` (at any depth: `pulumi config set
    --secret --path` nests them) replaced by the placeholder, and whether there was one."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return OFFLINE_SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        pairs = {k: _without_ciphertexts(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_without_ciphertexts(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def with_overrides(config: StackConfig, **overrides: Any) -> StackConfig:
    """A copy of `config` with some top-level `vos-infra:` keys replaced."""
    values = dict(config.values)
    for key, value in overrides.items():
        values[f"vos-infra:{key}"] = _encode(value)
    return StackConfig(values, list(config.secret_keys))
