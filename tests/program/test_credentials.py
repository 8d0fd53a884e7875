"""Generated credentials: one per need, the right length and alphabet, always secret."""

from __future__ import annotations

import re
import string

from pulumi.runtime.sync_await import _sync_await

from components.credentials import credential_specs
from components.credentials.specs import password_resources
from components.registry import REGISTRY
from infra.assembly import Platform
from stacks import load_settings
from tests.helpers import PASSWORD, is_secret, output, stack_overrides
from tools.offline.runner import Evaluation

SAFE = re.compile(r"^[A-Za-z0-9]+$")


def _specs(stack: str) -> dict[str, int]:
    settings = load_settings(stack, stack_overrides(stack), REGISTRY)
    resources = password_resources(credential_specs(settings))
    return {f"credentials-{name}": spec.length for name, spec in resources.items()}


def test_one_password_resource_per_credential(stack_update: Evaluation) -> None:
    registered = {r.name for r in stack_update.of_type(PASSWORD)}
    assert registered == set(_specs(stack_update.stack))


def test_each_agent_has_its_own_identity(dev: Evaluation) -> None:
    names = {r.name for r in dev.of_type(PASSWORD)}
    for agent in ("primary-agent", "weather-agent"):
        for credential in (
            "postgres-password",
            "rabbitmq-password",
            "weaviate-api-key",
            "internal-api-key",
        ):
            assert f"credentials-{agent}-{credential}" in names


def test_lengths_and_alphabet_hold(stack_update: Evaluation) -> None:
    lengths = _specs(stack_update.stack)
    for registration in stack_update.of_type(PASSWORD):
        value = output(registration, "result")
        assert len(value) == lengths[registration.name] >= 32
        # Letters and digits only: safe unquoted in URLs, conf files, env files, CSV lists.
        assert SAFE.match(value), registration.name
        assert sum(c in string.ascii_uppercase for c in value) >= 2
        assert sum(c in string.ascii_lowercase for c in value) >= 2
        assert sum(c in string.digits for c in value) >= 2


def test_values_are_distinct(dev: Evaluation) -> None:
    values = [output(r, "result") for r in dev.of_type(PASSWORD)]
    assert len(set(values)) == len(values)


def test_results_are_secret_in_the_engine(any_evaluation: Evaluation) -> None:
    for registration in any_evaluation.of_type(PASSWORD):
        if "result" in registration.outputs:  # unknown in preview
            assert is_secret(registration, "result")
        assert "result" in registration.options["additionalSecretOutputs"]


def test_program_outputs_are_secret_outputs(dev: Evaluation) -> None:
    platform = dev.result
    assert isinstance(platform, Platform)
    for output_value in platform.credentials.values.values():
        assert _sync_await(output_value.is_secret())
    for issued in platform.pki.certificates.values():
        assert _sync_await(issued.private_key_pem.is_secret())
    assert not _sync_await(platform.pki.ca_cert_pem.is_secret())


def test_rotation_keepers_carry_the_class_counter(dev: Evaluation) -> None:
    registration = dev.named("credentials-api-gateway-postgres-password")
    assert registration.inputs["keepers"] == {"rotation": "0", "class": "postgres"}
