"""Read this project's stack config from the Pulumi runtime, as decoded values.

Pulumi hands the language host every config value as a string (objects and lists as JSON).
We read all `vos-infra:*` keys, not only the ones we know, so a misspelt key is reported
instead of silently ignored.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config

from stacks.problems import NAMESPACE


def decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


PROVIDER_NAMESPACES = frozenset({"docker", "random", "tls", "pulumi"})
"""Config namespaces of the providers the program uses: theirs, not ours."""


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = {}
    raw.update(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    return raw


def stack_config() -> dict[str, Any]:
    prefix = f"{NAMESPACE}:"
    return {k.removeprefix(prefix): decode(v) for k, v in _raw().items() if k.startswith(prefix)}


def ignored_keys() -> list[str]:
    """Config keys that nothing in this program reads: neither `vos-infra:` nor a provider's
    (a misspelt project name, a key without its namespace, ...)."""
    return sorted(
        key for key in _raw() if key.partition(":")[0] not in PROVIDER_NAMESPACES | {NAMESPACE}
    )


def is_secret(path: tuple[str | int, ...]) -> bool:
    """Whether the config at `path` reached the program as a Pulumi secret: the engine marks
    whole top-level keys (a key is secret when any value inside it is), so this is true for
    every value under such a key (stacks/operator_secrets.py says what follows)."""
    return bool(path) and runtime_config.is_config_secret(f"{NAMESPACE}:{path[0]}")
