"""Outside destinations: exact names in prod, and a proxy to reach them through."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.egress import parse_destination
from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, section, set_hint, unreadable
from stacks.services import Catalogue

PROXY = "egressProxy"
"""The egress proxy's config key (components/egress_proxy/definition.py)."""


def _lists(raw: Raw, catalogue: Catalogue) -> Iterator[tuple[tuple[str | int, ...], list[object]]]:
    """(config path, entries) of every app's `egress` list: the consumer services', then
    each agent's."""
    services = section(raw, "services")
    for definition in catalogue:
        entries = section(services, definition.key).get("egress")
        if definition.consumer and isinstance(entries, list):
            yield ("services", definition.key, "egress"), entries
    agents = raw.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        entries = agent.get("egress") if isinstance(agent, Mapping) else None
        if isinstance(entries, list):
            yield ("agents", i, "egress"), entries


def exact_names_in_prod(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("environment") != "prod":
        return
    for path, entries in _lists(raw, catalogue):
        for i, entry in enumerate(entries):
            try:
                destination = parse_destination(str(entry))
            except ValueError:
                continue  # the field rule reports it
            if destination.wildcard:
                yield Problem(
                    (*path, i),
                    f"'{entry}' allows every subdomain; prod allows exact host names only",
                    set_hint((*path, i), destination.host) + " (one entry per host the app calls)",
                )


def proxy_for_destinations(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """An app with outside destinations reaches them only through the egress proxy."""
    services = section(raw, "services")
    if PROXY not in catalogue or enabled(services, PROXY) or unreadable(services, PROXY):
        return
    named = [config_key(path) for path, entries in _lists(raw, catalogue) if entries]
    if named:
        yield Problem(
            ("services", PROXY, "enabled"),
            f"is false, but {', '.join(named)} name outside destinations: the egress proxy "
            "is the apps' only way out",
            set_hint(("services", PROXY, "enabled"), "true")
            + f" or remove the destinations (pulumi config rm --path '{named[0]}')",
        )
