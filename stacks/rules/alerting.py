"""Alert receivers: complete, uniquely named, not Alertmanager's own, only with Alertmanager
enabled; the heartbeat one of them; in prod, someone besides the heartbeat gets the critical
alerts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, section, set_hint
from stacks.services import Catalogue
from stacks.values import OFFLINE_SECRET_PLACEHOLDER

RECEIVER_FIELDS = {"email": ("to", "sender", "smarthost"), "slack": ("channel",)}
"""What each receiver type needs besides its secret (the field rule knows the types)."""

NEEDS_SECRET = ("slack", "pagerduty", "webhook")
"""Types whose secret is not optional (an email relay may take mail without a login)."""

BUILT_IN_RECEIVERS = ("platform", "watchdog")
"""Alertmanager's own receivers (components/alertmanager/files.py): no configured one may
take their names."""

URL_FILE_SINCE = (0, 26)
"""The first Alertmanager that reads a webhook's URL from a file (`url_file`,
prometheus/alertmanager#3223): an older one would refuse the configuration at start."""

ALERTMANAGER = ("services", "alertmanager", "image")


def _receivers(raw: Raw) -> list[tuple[int, Mapping[str, Any]]]:
    found = section(raw, "alerting").get("receivers")
    if not isinstance(found, list):
        return []
    return [(i, r) for i, r in enumerate(found) if isinstance(r, Mapping)]


def _secret_set(path: tuple[str | int, ...], hint: str) -> str:
    return f"pulumi config set --secret --path '{config_key(path)}' {hint}"


def receivers(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    listed = _receivers(raw)
    if not listed:
        return
    if not enabled(section(raw, "services"), "alertmanager"):
        yield Problem(
            ("alerting", "receivers"),
            "are set but alertmanager, which sends to them, is disabled",
            set_hint(("services", "alertmanager", "enabled"), "true"),
        )
    names = [r.get("name") for _, r in listed]
    for i, receiver in listed:
        path: tuple[str | int, ...] = ("alerting", "receivers", i)
        name, kind = receiver.get("name"), str(receiver.get("type"))
        if name in BUILT_IN_RECEIVERS:
            yield Problem(
                (*path, "name"),
                f"{name!r} is a receiver of Alertmanager's own",
                set_hint((*path, "name"), "<another name>"),
            )
        if names.count(name) > 1:
            yield Problem(
                (*path, "name"), f"{name!r} names two receivers",
                set_hint((*path, "name"), "<another name>"),
            )  # fmt: skip
        for field in RECEIVER_FIELDS.get(kind, ()):
            if not receiver.get(field):
                yield Problem(
                    (*path, field),
                    f"is required for a {kind} receiver",
                    set_hint((*path, field), "<value>"),
                )
        yield from _secret(path, kind, receiver)


def _secret(
    path: tuple[str | int, ...], kind: str, receiver: Mapping[str, Any]
) -> Iterator[Problem]:
    secret, login = receiver.get("secret"), receiver.get("username")
    if kind in NEEDS_SECRET and not secret:
        yield Problem((*path, "secret"), f"is required for a {kind} receiver",
                      _secret_set((*path, "secret"), "<value>"))  # fmt: skip
    if kind == "email" and bool(secret) != bool(login):
        missing, hint = ("secret", "<SMTP password>") if login else ("username", "<SMTP login>")
        yield Problem(
            (*path, missing),
            "is required with the other half of the SMTP login (or set neither, for a relay "
            "that takes mail without one)",
            _secret_set((*path, missing), hint) if missing == "secret"
            else set_hint((*path, missing), hint),
        )  # fmt: skip
    if kind == "webhook" and isinstance(secret, str) and secret != OFFLINE_SECRET_PLACEHOLDER:
        url = urlsplit(secret)
        if url.scheme != "https" or not url.hostname:
            yield Problem(
                (*path, "secret"),
                "must be the webhook's https:// URL (alerts, and any token in the URL, would "
                "otherwise cross the network in the clear)",
                _secret_set((*path, "secret"), "'https://<host>/<path>'"),
            )


def heartbeat(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    """The heartbeat names a configured receiver."""
    named = section(raw, "alerting").get("heartbeat")
    if named is None:
        return
    if named not in [r.get("name") for _, r in _receivers(raw)]:
        yield Problem(
            ("alerting", "heartbeat"),
            f"{named!r} is not one of alerting.receivers: the Watchdog would go nowhere",
            "add that receiver (docs/settings.md, 'Alerts: where they go'), or "
            "pulumi config rm --path 'vos-infra:alerting.heartbeat'",
        )


def critical_in_prod(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    """In prod a critical alert must reach a person, not only Alertmanager's UI."""
    if raw.get("environment") != "prod":
        return
    heartbeat = section(raw, "alerting").get("heartbeat")  # it gets only the Watchdog
    severities = [
        r.get("severities", ["critical"]) for _, r in _receivers(raw) if r.get("name") != heartbeat
    ]
    if not any(isinstance(s, list) and "critical" in s for s in severities):
        yield Problem(
            ("alerting", "receivers"),
            "send the critical alerts to no one: prod needs a receiver that gets them",
            "add one, e.g. pulumi config set --path 'vos-infra:alerting.receivers[0].type' "
            "email with its name, to, sender and smarthost (docs/settings.md, 'Alerts: where "
            "they go')",
        )


def _version(image: Any) -> tuple[int, int] | None:
    """The major and minor of an image tagged like `prom/alertmanager:v0.28.1`; None when the
    tag says no version (a digest alone, a tag of the operator's own)."""
    if not isinstance(image, str):
        return None
    found = re.search(r":v?(\d+)\.(\d+)(?:\.\d+)?(?:@|$)", image)
    return (int(found[1]), int(found[2])) if found else None


def webhook_release(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    """A webhook receiver needs an Alertmanager that reads its URL from a file."""
    if not any(r.get("type") == "webhook" for _, r in _receivers(raw)):
        return
    image = section(section(raw, "services"), "alertmanager").get("image")
    version = _version(image)
    if version is not None and version < URL_FILE_SINCE:
        yield Problem(
            ALERTMANAGER,
            f"{image} reads no webhook URL from a file (Alertmanager 0.26 and newer do), and "
            "a webhook receiver's URL is a secret",
            set_hint(ALERTMANAGER, "prom/alertmanager:v0.28.1"),
        )
