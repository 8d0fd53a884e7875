"""The program evaluates the same way in preview and update modes."""

from __future__ import annotations

import pytest

from components.credentials import credential_specs
from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import PASSWORD, SIGNED, config_with, stack_overrides
from tools.offline.mocks import MockState
from tools.offline.runner import Evaluation, evaluate


def _inventory(ev: Evaluation) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in ev.registrations}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_preview_registers_what_update_registers(stack: str) -> None:
    assert _inventory(evaluate(stack, preview=True)) == _inventory(evaluate(stack))


def test_preview_of_a_new_stack_computes_no_material() -> None:
    ev = evaluate("dev", preview=True)
    for registration in ev.of_type(PASSWORD):
        assert "result" not in registration.outputs
    for registration in ev.of_type(SIGNED):
        assert "certPem" not in registration.outputs


def test_preview_after_update_shows_exactly_the_rotation() -> None:
    state = MockState()
    evaluate("dev", state=state)
    preview = evaluate(
        "dev", config_with("dev", rotation={"weaviate": 3}), preview=True, state=state
    )
    replaced = {r.name for r in preview.registrations if r.operation == "replace"}
    settings = load_settings("dev", stack_overrides("dev"), REGISTRY)
    weaviate = {
        f"credentials-{s.resource_name}"
        for s in credential_specs(settings)
        if s.rotation_class == "weaviate"
    }
    # Weaviate restarts with the new keys, which its files carrier receives, and its roles
    # job (which logs in with the admin key) runs again
    restarted = {"weaviate-server", "weaviate-roles"}
    assert replaced == weaviate | restarted | {f"{name}-files" for name in restarted}
    updated = {r.name for r in preview.registrations if r.operation == "update"}
    assert updated == {name.replace("credentials-", "vault-") for name in weaviate}
    assert {r.operation for r in preview.registrations} == {"same", "replace", "update"}


def test_a_misconfigured_stack_fails_before_any_resource_is_registered() -> None:
    state = MockState()
    bad = config_with("dev", tls={"keyAlgorithm": "RSA-1024"}, agents=[{"name": "x"}])
    for preview in (True, False):
        with pytest.raises(SettingsError) as caught:
            evaluate("dev", bad, preview=preview, state=state)
        assert "vos-infra:tls.keyAlgorithm" in caught.value.keys
        assert "vos-infra:agents[0].image" in caught.value.keys
    assert state.entries == {}
