"""Small helpers shared by the test suites."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi.runtime import rpc

from tools.offline import material
from tools.offline.mocks import unwrap
from tools.offline.monitor import Registration
from tools.offline.runner import Evaluation
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

ROOT = Path(__file__).resolve().parents[1]


def stack_overrides(stack: str) -> dict[str, Any]:
    """The stack file's `vos-infra:*` values, decoded, without the namespace."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def profile(environment: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"{environment}.yaml").read_text())
    return loaded


SWARM_IMAGE = "registry.example:5000/vos/app:1.0.0@sha256:" + "a" * 64


def swarm_overrides(stack: str) -> dict[str, Any]:
    """The stack's own values turned to a Swarm as its operator would first write them: the
    apps from a registry (a stack's image replaces the profile's build), only the edge
    published (a null drops what the profile publishes), on every address, the gateway twice."""
    own = stack_overrides(stack)
    agents = [{"name": "primary", "image": SWARM_IMAGE, "memoryMb": 256, "cpus": 0.5,
               "replicas": 3}]  # fmt: skip
    gateway = {**own.get("services", {}).get("apiGateway", {}), "image": SWARM_IMAGE, "replicas": 2}
    return own | {
        "target": "swarm",
        "swarm": {**own.get("swarm", {}), "appNodes": 2},
        "services": {**own.get("services", {}), "apiGateway": gateway},
        "agents": agents,
        "network": {
            **own.get("network", {}),
            "bindAddress": "0.0.0.0",  # noqa: S104 (host-mode publishing binds every address)
            "publishedPorts": {"grafana": None, "prometheus": None},
        },
    }


def swarm_config_file(evaluation: Evaluation, service: str, path: str) -> str:
    """A file a Swarm service of the evaluation mounts from a config, as the engine hands
    it over."""
    prefix = f"vos-{evaluation.stack}"
    [spec] = [
        unwrap(r.inputs)["taskSpec"]["containerSpec"]
        for r in evaluation.of_type("docker:index/service:Service")
        if unwrap(r.inputs)["name"] == f"{prefix}-{service}"
    ]
    [name] = [c["configName"] for c in spec["configs"] if c["fileName"] == path]
    [data] = [
        unwrap(r.inputs)["data"]
        for r in evaluation.of_type("docker:index/serviceConfig:ServiceConfig")
        if unwrap(r.inputs)["name"] == name
    ]
    return base64.b64decode(data).decode()


def config_with(stack: str, **overrides: Any) -> StackConfig:
    """The stack's config with some top-level `vos-infra:` keys replaced."""
    return with_overrides(read_stack_config(stack), **overrides)


# --- reading what the mocks generated -------------------------------------------------------

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
PASSWORD = "random:index/randomPassword:RandomPassword"


def output(registration: Registration, name: str) -> Any:
    return unwrap(registration.outputs[name])


def is_secret(registration: Registration, name: str) -> bool:
    return rpc.is_rpc_secret(registration.outputs[name])


def certificate(registration: Registration) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(output(registration, "certPem")).encode())


def private_key(registration: Registration) -> Any:
    pem = str(output(registration, "privateKeyPem")).encode()
    return serialization.load_pem_private_key(pem, password=None)


def ca_certificate(evaluation: Evaluation) -> x509.Certificate:
    return certificate(evaluation.named("pki-ca-cert"))


def leaf_certificate(evaluation: Evaluation, name: str) -> x509.Certificate:
    return certificate(evaluation.named(f"pki-{name}-cert"))


def throwaway_ca(common_name: str = "not our CA") -> str:
    """A CA certificate (PEM) that signed nothing of ours: the 'untrusted CA' of the tests."""
    key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    cert = material.self_signed_cert(
        {
            "privateKeyPem": key["privateKeyPem"],
            "subject": {"commonName": common_name},
            "validityPeriodHours": 24,
            "isCaCertificate": True,
            "allowedUses": ["cert_signing"],
        }
    )
    return str(cert["certPem"])


def write_private(folder: Path, name: str, text: str) -> str:
    """Write a file only its owner may read (clients refuse group-readable keys)."""
    path = folder / name
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def throwaway_server(folder: Path, name: str) -> tuple[str, str]:
    """A self-signed server certificate for `name` (no CA of ours signed it) and its key, as
    files: what an impostor presents."""
    key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    cert = material.self_signed_cert(
        {
            "privateKeyPem": key["privateKeyPem"],
            "subject": {"commonName": name},
            "dnsNames": [name],
            "validityPeriodHours": 24,
            "allowedUses": ["digital_signature", "server_auth"],
        }
    )
    return (
        write_private(folder, f"{name}-impostor.crt", str(cert["certPem"])),
        write_private(folder, f"{name}-impostor.key", str(key["privateKeyPem"])),
    )
