"""An environment's policy configuration (policies/per-environment/<env>.json, the CLI's own
`--policy-pack-config` format), reconciled as the CLI reconciles it: every policy gets a
level ("all" or its own entry) and its settings (pkg/resource/analyzer/config.go)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "per-environment"


class PolicyConfigError(ValueError):
    """The policy config names an unknown policy or level."""


@dataclass(frozen=True)
class PolicyConfig:
    levels: dict[str, str]
    properties: dict[str, dict[str, Any]]


def config_file(environment: str) -> Path:
    return CONFIG_DIR / f"{environment}.json"


def load(path: Path, policies: Iterable[str], default_level: str = "mandatory") -> PolicyConfig:
    names = list(policies)
    raw: dict[str, Any] = json.loads(path.read_text())
    unknown = sorted(set(raw) - set(names) - {"all"})
    if unknown:
        raise PolicyConfigError(f"{path}: no policy named {', '.join(unknown)}")

    def level_of(entry: Any, fallback: str) -> str:
        level = entry.get("enforcementLevel", fallback) if isinstance(entry, dict) else entry
        if level not in ("advisory", "mandatory", "remediate", "disabled"):
            raise PolicyConfigError(f"{path}: unknown enforcement level {level!r}")
        return str(level)

    base = level_of(raw.get("all", default_level), default_level)
    levels, properties = {}, {}
    for name in names:
        entry = raw.get(name, base)
        levels[name] = level_of(entry, base)
        if isinstance(entry, dict):
            properties[name] = {k: v for k, v in entry.items() if k != "enforcementLevel"}
    return PolicyConfig(levels, properties)
