"""Certificate windows: renewal before expiry, leaves no longer than their CA."""

from __future__ import annotations

from collections.abc import Iterator

from stacks.problems import Problem
from stacks.rules.raw import Raw, integer, section, set_hint
from stacks.services import Catalogue


def windows(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    tls = section(raw, "tls")
    pairs = (
        ("caEarlyRenewalHours", "caValidityHours"),
        ("earlyRenewalHours", "validityHours"),
    )
    for early_key, validity_key in pairs:
        early, validity = integer(tls.get(early_key)), integer(tls.get(validity_key))
        if early is not None and validity is not None and early >= validity:
            yield Problem(
                ("tls", early_key),
                f"early renewal ({early} h) must be shorter than tls.{validity_key} ({validity} h)",
                set_hint(("tls", early_key), f"<hours below {validity}>"),
            )
    leaf, ca = integer(tls.get("validityHours")), integer(tls.get("caValidityHours"))
    if leaf is not None and ca is not None and leaf > ca:
        yield Problem(
            ("tls", "validityHours"),
            f"leaf certificates ({leaf} h) cannot outlive the CA (tls.caValidityHours = {ca} h)",
            set_hint(("tls", "validityHours"), f"<hours up to {ca}>"),
        )
