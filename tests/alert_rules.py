"""The alert rules of monitoring/prometheus/rules, read once for every test that needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parents[1] / "monitoring" / "prometheus" / "rules"


def alert_rules() -> dict[str, dict[str, Any]]:
    """Alert name -> its rule, from every rule file."""
    return {
        rule["alert"]: rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
