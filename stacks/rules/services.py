"""Services together: what an enabled service needs is enabled; published host ports belong
to enabled, publishable services, once each, clear of a Vault on the same host."""

from __future__ import annotations

from collections.abc import Iterator

from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, integer, section, set_hint, unreadable
from stacks.rules.vault import local_vault_ports
from stacks.services import Catalogue
from stacks.values import boolean


def dependencies(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    services = section(raw, "services")
    for definition in catalogue:
        key = definition.key
        if not enabled(services, key):
            continue
        for needed in definition.requires:
            if not enabled(services, needed) and not unreadable(services, needed):
                yield Problem(
                    ("services", key, "enabled"),
                    f"{key} needs {needed}, which is disabled",
                    set_hint(("services", needed, "enabled"), "true")
                    + f" or {set_hint(('services', key, 'enabled'), 'false')}",
                )


def published_ports(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    published = section(section(raw, "network"), "publishedPorts")
    services = section(raw, "services")
    owners: dict[int, str] = {}
    for key, port_value in published.items():
        path: tuple[str | int, ...] = ("network", "publishedPorts", key)
        if key not in catalogue:
            yield Problem(
                path,
                f"'{key}' is not a service of the platform ({', '.join(catalogue.keys)})",
                f"pulumi config rm --path '{config_key(path)}'",
            )
            continue
        refusal = catalogue.get(key).not_published
        if refusal:
            yield Problem(
                path,
                f"{key} may not be published: {refusal}",
                f"pulumi config rm --path '{config_key(path)}'",
            )
            continue
        if not enabled(services, key) and not unreadable(services, key):
            yield Problem(
                path,
                f"{key} is published but disabled",
                f"pulumi config rm --path '{config_key(path)}' (a null there in "
                "Pulumi.<stack>.yaml removes the profile's entry)"
                f" or {set_hint(('services', key, 'enabled'), 'true')}",
            )
        port = integer(port_value)
        if port is None:
            continue
        if port in owners:
            yield Problem(
                path,
                f"host port {port} is already published for {owners[port]}",
                set_hint(path, "<a free port>"),
            )
        elif port in local_vault_ports(raw):
            yield Problem(
                path,
                f"host port {port} is taken by the Vault on this host (vault.address; the "
                "embedded dev Vault listens on its port and the next one)",
                set_hint(path, "<a free port>"),
            )
        else:
            owners[port] = key


def names_for_published_services(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """A published service is reached by a name its certificate carries: localhost (where
    tls.localhostSans asks for it) or a public name; the edge answers no other Host."""
    network = section(raw, "network")
    published = section(network, "publishedPorts")
    names = network.get("publicNames")
    localhost = boolean(section(raw, "tls").get("localhostSans"))
    if not published or localhost is not False:
        return  # localhost names it (or the field rule reports the value)
    if names is None or (isinstance(names, list) and not names):
        yield Problem(
            ("network", "publicNames"),
            f"is empty, but {', '.join(sorted(published))} are published: clients reach them "
            "by a name their certificates carry, and the edge answers no other Host",
            set_hint(("network", "publicNames"), "'[\"<the name clients use>\"]'"),
        )
