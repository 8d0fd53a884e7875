"""A CA and the certificates the Engine API's mutual TLS needs, made with the functions that
make the program's own (tools/offline/material.py: what pulumi-tls makes, for real)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.offline.material import cert_request, locally_signed_cert, private_key, self_signed_cert

KEY = {"algorithm": "ECDSA", "ecdsaCurve": "P256"}


@dataclass(frozen=True)
class Pair:
    cert: str
    key: str

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
        cert.write_text(self.cert)
        key.touch(mode=0o600)
        key.write_text(self.key)
        return cert, key


def ca(name: str) -> Pair:
    key = private_key(KEY)["privateKeyPem"]
    cert = self_signed_cert({
        "privateKeyPem": key, "subject": {"commonName": name}, "validityPeriodHours": 2,
        "isCaCertificate": True, "allowedUses": ["cert_signing", "crl_signing"],
        "setSubjectKeyId": True,
    })["certPem"]  # fmt: skip
    return Pair(cert, key)


def issue(
    authority: Pair, name: str, use: str, addresses: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
) -> Pair:  # fmt: skip
    """A certificate for `use` ("server_auth" or "client_auth"), with IP and DNS SANs."""
    key = private_key(KEY)["privateKeyPem"]
    request = cert_request({
        "privateKeyPem": key, "subject": {"commonName": name}, "ipAddresses": list(addresses),
        "dnsNames": list(names),
    })["certRequestPem"]  # fmt: skip
    cert = locally_signed_cert({
        "certRequestPem": request, "caPrivateKeyPem": authority.key, "caCertPem": authority.cert,
        "validityPeriodHours": 2, "allowedUses": ["digital_signature", "key_agreement", use],
    })["certPem"]  # fmt: skip
    return Pair(cert, key)
