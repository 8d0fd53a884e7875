"""The incident response plan (docs/runbooks/incident-response.md): each procedure has its
steps and names the tests that run them against real software, and each of those tests
exists, so a procedure cannot lose its proof silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "docs" / "runbooks" / "incident-response.md"
INCIDENTS = (
    "A leaked app credential",
    "A compromised agent",
    "A leaked CA key",
    "A leaked Vault token",
    "A compromised host",
)


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)\n", PLAN.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_plan_covers_each_incident() -> None:
    assert tuple(_sections()) == INCIDENTS


@pytest.mark.parametrize("incident", INCIDENTS)
def test_each_procedure_has_steps_and_tests_that_exist(incident: str) -> None:
    text = _sections()[incident]
    assert re.search(r"^1\. ", text, re.M) and re.search(r"^2\. ", text, re.M), incident
    steps, _, proof = text.partition("**Exercised by**")
    tests = re.findall(r"^- (tests/\S+\.py)::(\w+)$", proof, re.M)
    assert tests, incident
    for path, name in tests:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name}"
    # The rotation counters it tells an operator to bump exist.
    classes = set(re.findall(r"(?<![/\w])rotation\.(\w+)", steps))
    assert classes <= set(REGISTRY.rotation_classes), classes - set(REGISTRY.rotation_classes)
