"""vault.auditLogFolder, which Alloy bind-mounts: a folder that is not there yet (the dev
Vault not started) is an environment problem, as vault.caCertFile's is (vault_ca.py): a
preview or an offline evaluation warns, a real update stops before anything is created
(the engine would refuse the mount half-way through it)."""

from __future__ import annotations

from pathlib import Path

from stacks import Settings
from stacks.images import project_path


class VaultAuditFolderMissing(RuntimeError):
    """vault.auditLogFolder names no folder at `pulumi up`, or one Alloy must not see."""


VAULT_HOME_FILES = ("root-token", "init.json", "config.hcl")
"""What a Vault's own folder holds (the dev Vault's: tools/dev_vault.py): mounted into Alloy,
its root token would be readable there."""


def audit_folder(settings: Settings) -> Path | None:
    """The folder Alloy mounts, when it runs (not on a Swarm: its nodes' folders are not
    this machine's) and the setting names one."""
    name = settings.vault.audit_log_folder
    if name is None or not settings.is_enabled("alloy") or settings.target == "swarm":
        return None
    return project_path(name)


def check_audit_folder(
    settings: Settings, tolerate_missing: bool, engine_host: str | None = None
) -> str | None:
    """A warning to print (preview, offline) or None; raises at `pulumi up`. The folder is
    looked at here, so only when the engine is this machine's (`engine_host`: docker:host,
    else DOCKER_HOST; None or a unix socket): another host's folders are not ours to see."""
    folder = audit_folder(settings)
    if folder is None:
        return None
    if engine_host and not engine_host.startswith("unix://"):
        return None
    if folder.is_dir():
        held = [name for name in VAULT_HOME_FILES if (folder / name).exists()]
        if held or folder == Path("/"):
            raise VaultAuditFolderMissing(
                f"vault.auditLogFolder {folder} holds {', '.join(held) or 'the whole host'}: "
                "Alloy would see it; name the folder that holds only the audit log (the dev "
                "Vault's: pulumi config set --path 'vos-infra:vault.auditLogFolder' "
                ".state/vault/audit)"
            )
        return None
    fix = (
        "start the dev Vault (scripts/vault.sh start), or point vos-infra:vault.auditLogFolder "
        "at the folder of your Vault's file audit log on the Docker host, or remove it "
        "(pulumi config rm --path 'vos-infra:vault.auditLogFolder')"
    )
    if tolerate_missing:
        return (
            f"vault.auditLogFolder ({folder}) does not exist yet: `pulumi up` will refuse the "
            f"stack until it does ({fix})"
        )
    raise VaultAuditFolderMissing(
        f"nothing was created: vault.auditLogFolder {folder} does not exist; {fix}"
    )
