"""Bumping one rotation counter replaces exactly the material of that class.

Two evaluations share one MockState (the stack's state): a resource whose inputs and
replacement trigger did not change keeps its outputs, as in a real `pulumi up`.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.app.inputs import apps
from components.credentials import credential_specs
from components.pki import certificate_specs
from components.registry import REGISTRY
from stacks import load_settings
from stacks.services import APPROLE_CLASS, CERTIFICATE_CLASSES
from tests.helpers import (
    CSR,
    PASSWORD,
    PRIVATE_KEY,
    SELF_SIGNED,
    SIGNED,
    ca_certificate,
    certificate,
    config_with,
    leaf_certificate,
    output,
    stack_overrides,
)
from tools.offline.mocks import MockState
from tools.offline.runner import Evaluation, evaluate

MATERIAL = {
    PASSWORD: "result",
    PRIVATE_KEY: "privateKeyPem",
    SELF_SIGNED: "certPem",
    CSR: "certRequestPem",
    SIGNED: "certPem",
}


def _material(ev: Evaluation) -> dict[str, str]:
    return {
        r.name: str(output(r, MATERIAL[r.type])) for r in ev.registrations if r.type in MATERIAL
    }


EVERY_SERVICE: dict[str, Any] = {"services": {"postgresBackup": {"enabled": True}}}
"""Dev with the one service it leaves off (the backup service, with its key) turned on, so
that every rotation class has material."""


def _rotate(rotation_class: str) -> tuple[Evaluation, Evaluation]:
    state = MockState()
    before = evaluate("dev", config_with("dev", **EVERY_SERVICE), state=state)
    after = evaluate(
        "dev", config_with("dev", **EVERY_SERVICE, rotation={rotation_class: 1}), state=state
    )
    return before, after


def _changed(before: Evaluation, after: Evaluation) -> set[str]:
    old, new = _material(before), _material(after)
    assert old.keys() == new.keys()
    return {name for name in old if old[name] != new[name]}


SETTINGS = load_settings("dev", stack_overrides("dev") | EVERY_SERVICE, REGISTRY)


ROLLOVER_CLASSES = {s.rotation_class for s in credential_specs(SETTINGS) if s.rollover_of}
"""Classes with a rollover (two slots, one replaced per bump): test_api_key_rollover.py."""
PASSWORD_CLASSES = [
    c for c in REGISTRY.credential_classes if c != APPROLE_CLASS and c not in ROLLOVER_CLASSES
]


def _restarted(rotation_class: str) -> set[str]:
    """The containers the registry says a rotation of this class replaces on purpose
    (ServiceDefinition.restarts), each with its files carrier, which receives the new
    files; nothing else may be replaced."""
    containers = {c for d in REGISTRY for c in d.restarts.get(rotation_class, ())}
    return containers | {f"{c}-files" for c in containers}


@pytest.mark.parametrize("rotation_class", PASSWORD_CLASSES)
def test_credential_class_rotates_alone(rotation_class: str) -> None:
    expected = {
        f"credentials-{s.resource_name}"
        for s in credential_specs(SETTINGS)
        if s.rotation_class == rotation_class
    }
    assert expected, f"no credential in class {rotation_class}"
    before, after = _rotate(rotation_class)
    assert _changed(before, after) == expected
    replaced = {r.name for r in after.registrations if r.operation == "replace"}
    assert replaced == expected | _restarted(rotation_class)
    # their Vault secrets get a new version (an in-place update), nothing else moves
    updated = {r.name for r in after.registrations if r.operation == "update"}
    assert updated == {name.replace("credentials-", "vault-") for name in expected}


def test_approle_rotation_issues_new_secret_ids_and_replaces_only_the_sidecars() -> None:
    before, after = _rotate("approle")
    assert _changed(before, after) == set()
    updated = {r.name for r in after.registrations if r.operation == "update"}
    approles = {r.name for r in after.registrations if r.type.endswith("vault:AppRole")}
    assert approles and updated == approles
    assert all(after.named(n).inputs["rotation"] == 1 for n in approles)
    for name in approles:
        old, new = before.named(name).outputs, after.named(name).outputs
        assert old["role_id"] == new["role_id"] and old["secret_id"] != new["secret_id"]
    # Each sidecar gets its new secret id as a file, so it (and its carrier) is replaced;
    # the apps keep running on the files already rendered.
    sidecars = {f"{a.dns_name}-vault-agent" for a in apps(SETTINGS)}
    replaced = {r.name for r in after.registrations if r.operation == "replace"}
    assert (
        replaced
        == sidecars | {f"{s}-files" for s in sidecars}
        == _restarted("approle")
        | {
            f"{a.dns_name}-vault-agent{suffix}"
            for a in apps(SETTINGS)
            if a.kind == "agent"
            for suffix in ("", "-files")
        }
    )


@pytest.mark.parametrize("rotation_class", ["serverCerts", "clientCerts"])
def test_leaf_certificate_class_rotates_keys_and_certificates(rotation_class: str) -> None:
    usage = "server" if rotation_class == "serverCerts" else "client"
    names = [s.name for s in certificate_specs(SETTINGS) if s.usage == usage]
    expected = {f"pki-{n}-{part}" for n in names for part in ("key", "csr", "cert")}
    before, after = _rotate(rotation_class)
    assert _changed(before, after) == expected
    trigger = after.named(f"pki-{names[0]}-key").options["replacementTrigger"]
    assert trigger == 1


def test_ca_rotation_reissues_leaves_but_keeps_their_keys_and_every_password() -> None:
    specs = certificate_specs(SETTINGS)
    cas = {
        f"pki-{ca}-{part}" for ca in ("ca", "metrics-ca", "readers-ca") for part in ("key", "cert")
    }
    expected = cas | {f"pki-{s.name}-cert" for s in specs}
    before, after = _rotate("ca")
    assert _changed(before, after) == expected
    # the new leaves are signed by their new CA
    issuers = {
        "platform": ca_certificate(after),
        "metrics": certificate(after.named("pki-metrics-ca-cert")),
        "readers": certificate(after.named("pki-readers-ca-cert")),
    }
    for spec in specs:
        leaf_certificate(after, spec.name).verify_directly_issued_by(issuers[spec.issuer])


def test_an_update_without_changes_replaces_nothing() -> None:
    state = MockState()
    before = evaluate("dev", state=state)
    after = evaluate("dev", state=state)
    assert _changed(before, after) == set()
    assert {r.operation for r in after.registrations} == {"same"}


def test_every_class_has_a_counter() -> None:
    classes = {s.rotation_class for s in credential_specs(SETTINGS)}
    assert set(PASSWORD_CLASSES) | ROLLOVER_CLASSES == classes - {None}
    assert set(CERTIFICATE_CLASSES) == {"ca", "serverCerts", "clientCerts"}
    for rotation_class in REGISTRY.rotation_classes:
        assert SETTINGS.rotation.counter(rotation_class) == 0
