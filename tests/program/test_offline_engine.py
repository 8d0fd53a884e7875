"""What the offline evaluation refuses as the Pulumi engine would: a program that a real
`pulumi up` stops must not pass every offline test."""

from __future__ import annotations

import pulumi_random as random
import pytest

from tools.offline.runner import evaluate


def _twice() -> None:
    random.RandomPassword("same-name", length=16)
    random.RandomPassword("same-name", length=16)


def _two_types() -> None:
    random.RandomPassword("same-name", length=16)
    random.RandomId("same-name", byte_length=8)


def test_two_resources_of_one_urn_fail_the_evaluation() -> None:
    with pytest.raises(Exception, match=r"Duplicate resource URN .*same-name"):
        evaluate("dev", program=_twice)


def test_one_name_under_two_types_is_two_urns() -> None:
    found = evaluate("dev", program=_two_types)
    assert [r.name for r in found.registrations if r.custom] == ["same-name", "same-name"]
