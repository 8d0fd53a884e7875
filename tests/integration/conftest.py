"""Fixtures test modules share: the edge's PKI and a stand-in gateway, a RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.edge_server import Pki, edge_pki
from tests.integration.https_stub import HttpsStub
from tests.integration.rabbitmq_clients import Broker
from tools.offline.runner import Evaluation


@pytest.fixture(scope="module")
def pki(dev: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return edge_pki(dev, tmp_path_factory.mktemp("edge-pki"))


@pytest.fixture(scope="module")
def gateway(pki: Pki) -> Iterator[HttpsStub]:
    # A gateway that sends weaker security headers of its own, and a CORS header that would
    # let every page read it: the client must see the edge's.
    weak = {
        "Strict-Transport-Security": "max-age=1",
        "X-Frame-Options": "ALLOWALL",
        "Access-Control-Allow-Origin": "*",
    }
    upstream = HttpsStub(pki.gateway_cert, pki.gateway_key, extra_headers=weak)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """RabbitMQ from the dev stack's rendered files, one per module that asks for it."""
    result = Broker(tmp_path_factory.mktemp("rmq"))
    try:
        yield result
    finally:
        result.server.destroy()
