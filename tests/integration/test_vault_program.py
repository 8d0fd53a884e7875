"""The program's Vault resources applied to a real OpenBao server.

An update-mode evaluation of the dev stack (real passwords, keys and certificates from the
material mocks) is replayed through the real providers, as `pulumi up` would call them:
every generated secret lands at its documented path, and each service's AppRole reads its
own secrets and is refused (403) on every other service's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import hvac
import hvac.exceptions
import pytest

from components.vault.access import AppRoleProvider
from tests.helpers import output
from tests.integration.vault_apply import KV, apply
from tests.integration.vault_server import point_at, root_client
from tools.dev_vault import DevVault
from tools.offline.mocks import unwrap
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides


@pytest.fixture(scope="module")
def applied(bao: DevVault) -> tuple[Evaluation, dict[str, dict[str, Any]]]:
    """Evaluate a fresh dev-profile stack and apply its Vault resources for real."""
    stack = f"it{secrets.token_hex(3)}"
    evaluation = evaluate(stack, read_stack_config("dev"))
    return evaluation, apply(bao, evaluation)


def test_every_generated_secret_is_in_vault_at_its_path(
    applied: tuple[Evaluation, dict[str, Any]], bao: DevVault
) -> None:
    evaluation, _ = applied
    root = root_client(bao)
    stack = evaluation.stack
    password = root.secrets.kv.v2.read_secret_version(
        path=f"vos/{stack}/api-gateway/postgres-password",
        mount_point="secret",
        raise_on_deleted_version=True,
    )["data"]["data"]
    generated = output(evaluation.named("credentials-api-gateway-postgres-password"), "result")
    assert password == {"value": generated}
    tls = root.secrets.kv.v2.read_secret_version(
        path=f"vos/{stack}/postgres/tls", mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    assert tls["private_key_pem"] == output(evaluation.named("pki-postgres-key"), "privateKeyPem")
    assert tls["certificate_pem"] == output(evaluation.named("pki-postgres-cert"), "certPem")
    listed = root.secrets.kv.v2.list_secrets(path=f"vos/{stack}", mount_point="secret")["data"][
        "keys"
    ]
    assert "pki/" in listed and "weather-agent/" in listed


def _login(bao: DevVault, approle_outs: dict[str, Any]) -> hvac.Client:
    client = hvac.Client(url=bao.address, verify=str(bao.ca_file))
    client.auth.approle.login(role_id=approle_outs["role_id"], secret_id=approle_outs["secret_id"])
    return client


def test_a_service_reads_only_its_own_secrets(
    applied: tuple[Evaluation, dict[str, Any]], bao: DevVault
) -> None:
    evaluation, outs = applied
    stack = evaluation.stack
    gateway = _login(bao, outs["vault-api-gateway-approle"])
    own = gateway.secrets.kv.v2.read_secret_version(
        path=f"vos/{stack}/api-gateway/jwt-secret",
        mount_point="secret",
        raise_on_deleted_version=True,
    )
    assert own["data"]["data"]["value"] == output(
        evaluation.named("credentials-api-gateway-jwt-secret"), "result"
    )
    for other in (
        f"vos/{stack}/postgres/admin-password",
        f"vos/{stack}/weather-agent/postgres-password",
        f"vos/{stack}/pki/ca",
        f"vos/{stack}/pki/metrics-ca",
        f"vos/{stack}/pki/readers-ca",
    ):
        with pytest.raises(hvac.exceptions.Forbidden):
            gateway.secrets.kv.v2.read_secret_version(
                path=other, mount_point="secret", raise_on_deleted_version=True
            )
    agent = _login(bao, outs["vault-weather-agent-approle"])
    with pytest.raises(hvac.exceptions.Forbidden):
        agent.secrets.kv.v2.read_secret_version(
            path=f"vos/{stack}/primary-agent/postgres-password",
            mount_point="secret",
            raise_on_deleted_version=True,
        )
    # Prometheus reads its scrape identity, but not the CA that issues such identities.
    prometheus = _login(bao, outs["vault-prometheus-approle"])
    bundle = prometheus.secrets.kv.v2.read_secret_version(
        path=f"vos/{stack}/prometheus/scraper-client-tls",
        mount_point="secret",
        raise_on_deleted_version=True,
    )
    assert bundle["data"]["data"]["certificate_pem"] == output(
        evaluation.named("pki-prometheus-scraper-cert"), "certPem"
    )
    with pytest.raises(hvac.exceptions.Forbidden):
        prometheus.secrets.kv.v2.read_secret_version(
            path=f"vos/{stack}/pki/metrics-ca", mount_point="secret", raise_on_deleted_version=True
        )


def test_approle_rotation_replaces_the_secret_id(
    applied: tuple[Evaluation, dict[str, Any]], bao: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outs = applied
    old = outs["vault-grafana-approle"]
    point_at(bao, monkeypatch)
    provider = AppRoleProvider()
    assert provider.diff("x", old, old | {"rotation": 1}).replaces == []
    new = provider.update("x", old, old | {"rotation": 1}).outs
    assert (
        new is not None
        and new["secret_id"] != old["secret_id"]
        and new["role_id"] == old["role_id"]
    )
    _login(bao, new)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        _login(bao, old)


def test_secret_ids_expire_as_configured_and_an_update_in_the_window_renews_them(
    applied: tuple[Evaluation, dict[str, Any]], bao: DevVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluation, outs = applied
    old = outs["vault-loki-approle"]
    settings = evaluation.result.settings
    assert old["secret_id_ttl"] == f"{settings.vault.secret_id_ttl_hours}h"
    # Vault's own view of the secret id: it expires when the provider says it does
    looked = root_client(bao).auth.approle.read_secret_id(
        role_name=old["role_name"], secret_id=old["secret_id"], mount_point=old["mount"]
    )["data"]
    vault_expiry = dt.datetime.fromisoformat(looked["expiration_time"].replace("Z", "+00:00"))
    ours = dt.datetime.fromisoformat(old["secret_id_expires_at"])
    assert abs((vault_expiry - ours).total_seconds()) < 120
    point_at(bao, monkeypatch)
    provider = AppRoleProvider()
    # far from expiry: nothing to do
    assert provider.diff("x", old, dict(old)).changes is False
    # inside the renewal window (here: a window longer than what is left)
    due = old | {"renew_before_s": settings.vault.secret_id_ttl_hours * 3600}
    assert provider.diff("x", old, due).changes is True
    assert provider.diff("x", old, due).replaces == []
    new = provider.update("x", old, due).outs
    assert new is not None and new["secret_id"] != old["secret_id"]
    assert new["role_id"] == old["role_id"]
    assert dt.datetime.fromisoformat(new["secret_id_expires_at"]) > ours
    _login(bao, new)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        _login(bao, old)  # the old one is destroyed, not left to expire


def test_program_registers_one_vault_secret_per_generated_secret(dev: Evaluation) -> None:
    passwords = dev.of_type("random:index/randomPassword:RandomPassword")
    leaves = dev.of_type("tls:index/locallySignedCert:LocallySignedCert")
    secrets_ = dev.of_type(KV)
    cas = dev.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert len(cas) == 3  # the platform, metrics and readers CAs
    assert len(secrets_) == len(passwords) + len(leaves) + len(cas)  # + each CA key
    paths = [unwrap(r.inputs)["path"] for r in secrets_]
    assert len(set(paths)) == len(paths)
    assert all(p.startswith("vos/dev/") for p in paths)
    for registration in secrets_:
        assert registration.options["additionalSecretOutputs"] == ["data"]
        assert registration.inputs["data"]["4dabf18193072939515e22adb298388d"]  # wrapped secret


def test_no_token_in_any_recorded_input_or_output(monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = f"hvs.sentinel{secrets.token_hex(8)}"
    monkeypatch.setenv("VAULT_TOKEN", sentinel)
    monkeypatch.setenv("VAULT_ADDR", "https://vault.invalid:8200")
    evaluation = evaluate("dev", with_overrides(read_stack_config("dev")))
    import base64

    for registration in evaluation.registrations:
        blob = repr(registration.inputs) + repr(registration.outputs) + repr(registration.options)
        assert sentinel not in blob, registration.name
        provider = unwrap(registration.inputs).get("__provider")
        if provider:
            assert sentinel.encode() not in base64.b64decode(provider)
