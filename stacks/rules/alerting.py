"""Alert receivers: complete, uniquely named, not Alertmanager's own, and only with
Alertmanager enabled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.problems import Problem
from stacks.rules.raw import Raw, enabled, section, set_hint
from stacks.services import Catalogue

RECEIVER_FIELDS = {"email": ("to", "sender", "smarthost", "username"), "slack": ("channel",)}
"""What each receiver type needs besides its secret (the field rule knows the types)."""


BUILT_IN_RECEIVERS = ("platform", "watchdog")
"""Alertmanager's own receivers (components/alertmanager/files.py): no configured one may
take their names."""


def receivers(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    receivers = section(raw, "alerting").get("receivers")
    if not isinstance(receivers, list) or not receivers:
        return
    if not enabled(section(raw, "services"), "alertmanager"):
        yield Problem(
            ("alerting", "receivers"),
            "are set but alertmanager, which sends to them, is disabled",
            set_hint(("services", "alertmanager", "enabled"), "true"),
        )
    names = [r.get("name") for r in receivers if isinstance(r, Mapping)]
    for i, receiver in enumerate(receivers):
        if not isinstance(receiver, Mapping):
            continue
        if receiver.get("name") in BUILT_IN_RECEIVERS:
            yield Problem(
                ("alerting", "receivers", i, "name"),
                f"{receiver.get('name')!r} is a receiver of Alertmanager's own",
                set_hint(("alerting", "receivers", i, "name"), "<another name>"),
            )
        if names.count(receiver.get("name")) > 1:
            yield Problem(
                ("alerting", "receivers", i, "name"),
                f"{receiver.get('name')!r} names two receivers",
                set_hint(("alerting", "receivers", i, "name"), "<another name>"),
            )
        for field in RECEIVER_FIELDS.get(str(receiver.get("type")), ()):
            if not receiver.get(field):
                yield Problem(
                    ("alerting", "receivers", i, field),
                    f"is required for a {receiver.get('type')} receiver",
                    set_hint(("alerting", "receivers", i, field), "<value>"),
                )
