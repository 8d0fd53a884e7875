"""`vos-infra vault audit --stack S`: whether the Vault the stack's services use keeps an
audit trail. Vault answers no request while no enabled audit device can log it, but with
none enabled it answers everything and records nothing: who read which secret is then lost.
OpenBao enables audit devices only from its server configuration (`audit "file" ...`), so
the program cannot declare one in a Vault it does not run; this checks it from outside.

It asks the stack's `vault.address` (verified with `vault.caCertFile`, else the system's
CAs) with the operator's token (VAULT_TOKEN, VAULT_TOKEN_FILE or ~/.vault-token, found as
`pulumi up`'s Vault providers find it: connection.token_from_env); listing audit devices
needs `read` and `sudo` on `sys/audit`."""

from __future__ import annotations

from typing import Any

from components.vault.connection import Connection, token_from_env, translated
from stacks.images import project_path
from tools.cli.stack_settings import stack_settings

NEEDS = ", of a policy with read and sudo on sys/audit"
"""What `vault audit` asks of the operator's token."""
FIX = (
    'declare one in Vault\'s server configuration, e.g. audit "file" "vos-audit" { options '
    '{ file_path = "/var/log/openbao/audit.log" mode = "0600" } }, and restart it '
    "(HashiCorp Vault also takes `vault audit enable file file_path=...`); docs/vault.md"
)


def devices(connection: Connection) -> dict[str, dict[str, Any]]:
    """Enabled audit devices: path -> {type, options, ...}."""
    action = "listing Vault's audit devices (the token needs read and sudo on sys/audit)"
    with translated(connection, action) as vault:
        listed: Any = vault.sys.list_enabled_audit_devices()
    found = listed.get("data", listed)
    return {path: dict(device) for path, device in found.items() if isinstance(device, dict)}


def report(connection: Connection) -> tuple[str, bool]:
    """The lines to print, and whether at least one audit device is enabled."""
    found = devices(connection)
    if not found:
        return f"FAILED  {connection.address} keeps no audit trail (no audit device): {FIX}", False
    lines = [f"passed  {connection.address} audits every request to {len(found)} device(s):"]
    for path, device in sorted(found.items()):
        options = device.get("options") or {}
        where = options.get("file_path") or options.get("address") or options.get("tag") or ""
        lines.append(f"  {path} {device.get('type', '?')} {where}".rstrip())
    return "\n".join(lines), True


def run_audit(stack: str) -> tuple[str, bool]:
    vault = stack_settings(stack).vault
    verify: str | bool = str(project_path(vault.ca_cert_file)) if vault.ca_cert_file else True
    return report(Connection(vault.address.rstrip("/"), token_from_env(NEEDS), verify))
