"""Apply an evaluation's Vault resources to a real OpenBao through the real providers, as
`pulumi up` would call them (create, in the order the program registered them)."""

from __future__ import annotations

from typing import Any

import pytest

from components.vault.access import AppRoleProvider, PolicyProvider
from components.vault.kv_secret import KvSecretProvider
from tests.integration.vault_server import point_at
from tools.dev_vault import DevVault
from tools.offline.mocks import unwrap
from tools.offline.runner import Evaluation

KV = "pulumi-python:dynamic/vault:KvSecret"
POLICY = "pulumi-python:dynamic/vault:Policy"
APPROLE = "pulumi-python:dynamic/vault:AppRole"


def apply(bao: DevVault, evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Resource name -> the provider's outputs."""
    outs: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as patch:
        point_at(bao, patch)
        for kind, provider in (
            (KV, KvSecretProvider()),
            (POLICY, PolicyProvider()),
            (APPROLE, AppRoleProvider()),
        ):
            for registration in evaluation.of_type(kind):
                props = {k: v for k, v in unwrap(registration.inputs).items() if k != "__provider"}
                created = provider.create(props)
                assert created.outs is not None
                outs[registration.name] = created.outs
    return outs
