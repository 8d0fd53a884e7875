"""The cross-setting rules: one module per area under stacks/rules, every rule of every area
run by the one runner, and a stack wrong in every area told everything in one round."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import stacks.rules
from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from stacks.rules import RULES
from tests.helpers import stack_overrides

AREAS = [m.name for m in pkgutil.iter_modules(stacks.rules.__path__) if m.name != "raw"]


def _rules_of(area: str) -> list[Any]:
    """The public functions of an area's module that have a rule's shape."""
    module = importlib.import_module(f"stacks.rules.{area}")
    return [
        function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_")
        and function.__module__ == module.__name__
        and inspect.signature(function).return_annotation == "Iterator[Problem]"
    ]


@pytest.mark.parametrize("area", AREAS)
def test_every_rule_of_an_area_is_run_once(area: str) -> None:
    rules = _rules_of(area)
    assert rules, f"stacks/rules/{area}.py has no rule"
    for rule in rules:
        assert RULES.count(rule) == 1, f"{area}.{rule.__name__} is not in RULES exactly once"


def test_a_stack_wrong_in_every_area_is_told_everything_in_one_round() -> None:
    dev = stack_overrides("dev")
    overrides = dev | {
        "agents": [
            {"name": "a", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.5},
            {"name": "a", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.5},
        ],
        "alerting": {"receivers": [{"name": "platform", "type": "slack"}]},
        "services": {"postgres": {"build": {"context": "tests/docker/images/postgres"}}},
        "network": {"publishedPorts": {"redis": 6379}},
        "tls": {"earlyRenewalHours": 5000},
        "vault": {**dev.get("vault", {}), "secretIdRenewalHours": 5000},
    }
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", overrides, REGISTRY)
    expected = {
        "agents": "vos-infra:agents[1].name",
        "alerting": "vos-infra:alerting.receivers[0].name",
        "images": "vos-infra:services.postgres.build",
        "services": "vos-infra:network.publishedPorts.redis",
        "tls": "vos-infra:tls.earlyRenewalHours",
        "vault": "vos-infra:vault.secretIdRenewalHours",
    }
    missing = {area: key for area, key in expected.items() if key not in caught.value.keys}
    assert not missing, f"not reported together: {missing}\n{caught.value}"


def test_prod_without_a_backend_is_refused_with_the_other_problems() -> None:
    prod = {k: v for k, v in stack_overrides("prod").items() if k != "backend"}
    with pytest.raises(SettingsError) as caught:
        load_settings("prod", prod | {"tls": {"earlyRenewalHours": 50000}}, REGISTRY)
    assert {"vos-infra:backend", "vos-infra:tls.earlyRenewalHours"} <= set(caught.value.keys)


def test_published_services_need_a_name_their_clients_use() -> None:
    prod = stack_overrides("prod")
    network = {**prod["network"], "publicNames": []}
    with pytest.raises(SettingsError) as caught:
        load_settings("prod", prod | {"network": network}, REGISTRY)
    (problem,) = [p for p in caught.value.problems if p.key == "vos-infra:network.publicNames"]
    assert "edge answers no other Host" in problem.message
    # dev names them localhost
    load_settings("dev", stack_overrides("dev"), REGISTRY)
