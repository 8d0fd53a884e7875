"""Run the whole program under the material mocks, once per stack and mode."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.runtime import rpc

from infra.offline.mocks import unwrap
from infra.offline.monitor import Registration
from infra.offline.runner import Evaluation, evaluate

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
PASSWORD = "random:index/randomPassword:RandomPassword"


@pytest.fixture(scope="session")
def dev() -> Evaluation:
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
    stack, preview = request.param
    return evaluate(stack, preview=preview)


def output(registration: Registration, name: str) -> Any:
    return unwrap(registration.outputs[name])


def is_secret(registration: Registration, name: str) -> bool:
    return rpc.is_rpc_secret(registration.outputs[name])


def certificate(registration: Registration) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(output(registration, "certPem")).encode())


def private_key(registration: Registration) -> Any:
    pem = str(output(registration, "privateKeyPem")).encode()
    return serialization.load_pem_private_key(pem, password=None)
