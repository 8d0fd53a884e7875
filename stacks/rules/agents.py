"""Agents: the services they need are enabled, each name is unique and no platform service's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.problems import Problem
from stacks.rules.raw import Raw, enabled, section, set_hint, unreadable
from stacks.services import AGENT_REQUIRES, Catalogue, agent_dns_name


def agents(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    agents = raw.get("agents")
    if not isinstance(agents, list):
        return
    services = section(raw, "services")
    if agents:
        for needed in AGENT_REQUIRES:
            if not enabled(services, needed) and not unreadable(services, needed):
                yield Problem(
                    ("services", needed, "enabled"),
                    f"agents need {needed}, which is disabled",
                    set_hint(("services", needed, "enabled"), "true")
                    + " or remove the agents from vos-infra:agents",
                )
    seen: dict[str, int] = {}
    for i, agent in enumerate(agents):
        name = agent.get("name") if isinstance(agent, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            yield Problem(
                ("agents", i, "name"),
                f"agent '{name}' is declared twice (also at agents[{seen[name]}]);"
                " each agent has its own identity",
                f"{set_hint(('agents', i, 'name'), '<unique name>')} (or remove one of the two)",
            )
        else:
            seen[name] = i
        reserved = catalogue.reserved_names
        if name in reserved or agent_dns_name(name) in reserved:
            yield Problem(
                ("agents", i, "name"),
                f"agent name '{name}' collides with a platform service name",
                set_hint(("agents", i, "name"), "<another name>"),
            )
