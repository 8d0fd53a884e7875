"""The CA that signed Vault's certificate, read from `vault.caCertFile` for the sidecars.

Like a placeholder image digest, a file that is not there yet (the dev Vault not started)
is an environment problem, not a settings one: a preview or an offline evaluation warns and
carries a stand-in, a real update stops before anything is created. A file that is there
but holds no certificate is refused everywhere.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from stacks import Settings
from stacks.images import project_path

STAND_IN = "# vault.caCertFile was not found at evaluation; `pulumi up` refuses this\n"


class VaultCaMissing(RuntimeError):
    """vault.caCertFile names no readable file at `pulumi up`."""


def ca_path(settings: Settings) -> Path | None:
    name = settings.vault.ca_cert_file
    return None if name is None else project_path(name)


def read_vault_ca(settings: Settings, tolerate_missing: bool) -> str:
    """The PEM text, or "" when no sidecar needs it (no app, or a Swarm, where none runs).
    `tolerate_missing`: preview or offline."""
    path = ca_path(settings)
    if path is None or not settings.apps_enabled() or settings.target == "swarm":
        return ""
    fix = (
        "start the dev Vault (scripts/vault.sh start) or point "
        "vos-infra:vault.caCertFile at the PEM file of the CA that signed Vault's certificate "
        "(pulumi config set --path 'vos-infra:vault.caCertFile' <file>)"
    )
    if not path.is_file():
        if tolerate_missing:
            return STAND_IN
        raise VaultCaMissing(f"nothing was created: vault.caCertFile {path} does not exist; {fix}")
    text = path.read_text()
    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise VaultCaMissing(
            f"vault.caCertFile {path} holds no PEM certificate ({exc}); {fix}"
        ) from None
    return text
