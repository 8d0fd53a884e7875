"""The edge's settings against each other and the environment: one limit per path; `*`
never with credentials; browser origins in prod exact and served over HTTPS; the consoles it
serves running, under names of their own, and in prod not open to every address."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.edge_settings import CONSOLES
from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, section, set_hint, unreadable
from stacks.services import Catalogue

PATH = ("edge", "cors", "allowedOrigins")


def _origins(raw: Raw) -> list[object]:
    origins = section(section(raw, "edge"), "cors").get("allowedOrigins")
    return origins if isinstance(origins, list) else []


def one_limit_per_path(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    limits = section(raw, "edge").get("rateLimits")
    seen: set[object] = set()
    for i, limit in enumerate(limits if isinstance(limits, list) else []):
        path = limit.get("path") if isinstance(limit, Mapping) else None
        if path in seen:
            yield Problem(
                ("edge", "rateLimits", i, "path"),
                f"{path} has a limit already; nginx takes one location per path",
                f"pulumi config rm --path 'vos-infra:edge.rateLimits[{i}]' (keep one limit)",
            )
        seen.add(path)


def no_wildcard_with_credentials(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """Any page acting with a user's cookies: browsers refuse `*` with credentials anyway,
    and echoing each origin instead would open the API to every page."""
    credentials = section(section(raw, "edge"), "cors").get("allowCredentials")
    if credentials is True and "*" in _origins(raw):
        yield Problem(
            ("edge", "cors", "allowCredentials"),
            "is true while allowedOrigins has '*': any web page would act with a user's "
            "credentials",
            set_hint(("edge", "cors", "allowCredentials"), "false")
            + " or list the exact origins instead of '*'",
        )


def exact_https_origins_in_prod(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """`*` lets every page on the web read the API's answers; an http:// page can be
    rewritten on its way to a browser, and would then script the API with its reach."""
    if raw.get("environment") != "prod":
        return
    for i, origin in enumerate(_origins(raw)):
        if origin == "*":
            yield Problem(
                (*PATH, i),
                "'*' lets any web page read the API's answers; prod allows exact origins only",
                set_hint((*PATH, i), "https://app.example.com")
                + " (one entry per origin of your web app)",
            )
        elif isinstance(origin, str) and origin.startswith("http://"):
            yield Problem(
                (*PATH, i),
                f"'{origin}' is a plain-HTTP page; prod allows https:// origins only",
                set_hint((*PATH, i), "https://" + origin.removeprefix("http://")),
            )


def consoles_served(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """A console the edge serves: its service runs, its name is its own (nginx picks the
    server by name: a public name of the API's would send API clients to it), and in prod
    it is not open to every address (its login alone would then face the whole web)."""
    consoles = section(raw, "edge").get("consoles")
    services = section(raw, "services")
    public = section(raw, "network").get("publicNames")
    taken = {str(n).lower() for n in public} if isinstance(public, list) else set()
    for key, console in consoles.items() if isinstance(consoles, Mapping) else ():
        path = ("edge", "consoles", key)
        if key not in CONSOLES:
            yield Problem(
                path,
                f"the edge serves {' and '.join(CONSOLES)} as consoles, not {key}",
                f"pulumi config rm --path '{config_key(path)}'",
            )
            continue
        if not isinstance(console, Mapping):
            continue  # the field rule reports it
        if key in catalogue.keys and not enabled(services, key) and not unreadable(services, key):
            yield Problem(
                path,
                f"serves {key}, which this stack does not run",
                f"pulumi config rm --path '{config_key(path)}' or "
                + set_hint(("services", key, "enabled"), "true"),
            )
        host = str(console.get("host", "")).lower()
        if host and host in taken:
            yield Problem(
                (*path, "host"),
                f"{host} is already a name of the API (network.publicNames) or of another "
                "console; nginx would serve one of them under it",
                set_hint((*path, "host"), f"{key}.<your domain>") + " (a name of its own)",
            )
        taken.add(host)
        allowed = console.get("allowFrom")
        every = [n for n in allowed if str(n).endswith("/0")] if isinstance(allowed, list) else []
        if raw.get("environment") == "prod" and every:
            yield Problem(
                (*path, "allowFrom"),
                f"has {every[0]}: in prod a console is reached from the operators' networks "
                "only, not from every address",
                set_hint((*path, "allowFrom"), "'[\"203.0.113.0/24\"]'")
                + " (your office or VPN networks)",
            )
