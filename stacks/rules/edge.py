"""The edge's settings against each other and the environment: one limit per path; `*`
never with credentials; browser origins in prod exact and served over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.problems import Problem
from stacks.rules.raw import Raw, section, set_hint
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
