"""Read this project's stack config from the Pulumi runtime, as decoded values.

Pulumi hands the language host every config value as a string (objects and lists as JSON).
We read all `vos-infra:*` keys, not only the ones we know, so a misspelt key is reported
instead of silently ignored.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config

from infra.settings.problems import NAMESPACE


def decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def stack_config() -> dict[str, Any]:
    raw: dict[str, Any] = {}
    raw.update(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    prefix = f"{NAMESPACE}:"
    return {k.removeprefix(prefix): decode(v) for k, v in raw.items() if k.startswith(prefix)}
