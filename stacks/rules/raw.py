"""Reading the merged raw settings as the field rules read them, and the shape of a rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from stacks.problems import Problem, config_key
from stacks.services import Catalogue
from stacks.values import boolean

Raw = Mapping[str, Any]
Rule = Callable[[Raw, Catalogue], Iterator[Problem]]
"""A rule reads the merged settings (and the service catalogue) and yields its problems."""


def section(raw: Any, key: str) -> Raw:
    """raw[key] if it is a mapping, else empty (a wrong type is the field rule's to report)."""
    value = raw.get(key) if isinstance(raw, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def integer(value: Any) -> int | None:
    try:
        return int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def enabled(services: Raw, key: str) -> bool:
    """Read as the field rule reads it."""
    return boolean(section(services, key).get("enabled")) is True


def unreadable(services: Raw, key: str) -> bool:
    """`enabled` is set but not a boolean: the field rule reports it, and no rule may add
    follow-on problems from a guess at what it meant."""
    value = section(services, key).get("enabled")
    return value is not None and boolean(value) is None


def set_hint(path: tuple[str | int, ...], hint: str) -> str:
    return f"pulumi config set --path '{config_key(path)}' {hint}"


def runs_apps(raw: Raw, catalogue: Catalogue) -> bool:
    """Whether any app container runs (an enabled consumer service or any agent): each has a
    Vault Agent sidecar, which needs Vault's address, CA and image."""
    agents = raw.get("agents")
    services = section(raw, "services")
    consumers = [d.key for d in catalogue if d.consumer]
    return bool(isinstance(agents, list) and agents) or any(
        enabled(services, key) for key in consumers
    )


class Runner(NamedTuple):
    """A container of the stack as its settings say it: what runs an image."""

    path: tuple[str | int, ...]
    """Its config path: ("services", key) or ("agents", index)."""
    values: Raw
    app: bool
    """A VOS app (a consumer service or an agent)."""
    buildable: bool
    """Dev may build its image from source: the VOS apps, and the services that name a
    `source` (ServiceDefinition.source)."""


def runners(raw: Raw, catalogue: Catalogue) -> Iterator[Runner]:
    """Every enabled service, every service whose image an enabled one borrows, and every
    agent."""
    services = section(raw, "services")
    borrowed = {d.borrows_image for d in catalogue if d.borrows_image and enabled(services, d.key)}
    for definition in catalogue:
        if enabled(services, definition.key) or definition.key in borrowed:
            settings = section(services, definition.key)
            app, source = definition.consumer, bool(definition.source)
            yield Runner(("services", definition.key), settings, app, app or source)
    agents = raw.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        if isinstance(agent, Mapping):
            yield Runner(("agents", i), agent, True, True)
