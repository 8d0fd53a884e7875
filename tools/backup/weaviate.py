"""`vos-infra backup` for Weaviate (backup.weaviate): list its backups, take one now, or
restore one into the running Weaviate. Each runs the backup service's own
images/postgres-backup/vos_weaviate.py inside the running service, with the Weaviate,
store and key settings the service was started with (read back from its container), so the
command reaches what the service reaches and nothing more: Weaviate's API as its backup
user, the backups volume, the store through the egress proxy."""

from __future__ import annotations

from collections.abc import Mapping

from docker.models.containers import Container

from components.postgres_backup import files
from components.postgres_backup.containers import UID as BACKUP_UID
from tools.backup.restore import RestoreError
from tools.backup.service import service_arguments

TOOL = "/usr/local/bin/vos_weaviate.py"
TO_TOOL = {
    "--weaviate-backups": "--folder",
    "--weaviate-url": "--url",
    "--weaviate-ca": "--ca",
    "--weaviate-key": "--key-file",
}
STORE = (
    *("--store-dir", "--s3-bucket", "--s3-region", "--s3-endpoint", "--s3-prefix"),
    *("--proxy", "--proxy-ca", "--proxy-cert", "--proxy-key"),
)


def tool_arguments(given: Mapping[str, str], action: str, backup_id: str = "") -> list[str]:
    """vos_weaviate.py's arguments for `action` (list, backup, restore) from the arguments
    the backup service runs with (by flag); RestoreError when it does not back Weaviate up."""
    if "--weaviate-url" not in given:
        raise RestoreError(
            "the backup service does not back Weaviate up: backup.weaviate.enabled is false, "
            "or Weaviate does not run (then `pulumi up` after enabling it)"
        )
    found = ["--folder", given["--weaviate-backups"]]
    found += [part for flag in STORE if flag in given for part in (flag, given[flag])]
    if action == "list":
        return ["list", *found]
    found += [part for flag, to in TO_TOOL.items() if flag != "--weaviate-backups"
              for part in (to, given[flag])]  # fmt: skip
    # Where the service seals its copies: its data volume (a backup may outgrow a tmpfs).
    found += ["--scratch", given.get("--offsite-scratch", f"{files.HOME}/offsite-scratch")]
    key = given.get("--offsite-key")
    if action == "backup":
        window = given.get("--weaviate-window-days", "7")
        return ["backup", *found, "--window-days", window, *(("--key", key) if key else ())]
    return ["restore", *found, "--id", backup_id, *(("--keys", key) if key else ())]


def run_tool(backup: Container, action: str, backup_id: str = "") -> str:
    """vos_weaviate.py in the running service, as its user; its output, or RestoreError."""
    arguments = tool_arguments(service_arguments(backup), action, backup_id)
    code, out = backup.exec_run(["python3", TOOL, *arguments], user=str(BACKUP_UID))
    assert isinstance(out, bytes), "exec_run without stream returns the whole output"
    text = out.decode(errors="replace").strip()
    if code != 0:
        raise RestoreError(f"Weaviate {action} failed (exit {code}): {text}")
    return text
