"""`vos-infra backup list`: the base backups the stack's backup service keeps, how far back a
restore can go, and Weaviate's backups when it keeps those too."""

from __future__ import annotations

import docker
from docker.models.containers import Container

from tools.backup.restore import backup_service, kept_backups
from tools.backup.weaviate import run_tool


def list_backups(client: docker.DockerClient, prefix: str, weaviate: bool = False) -> str:
    """`weaviate`: the stack backs Weaviate up (backup.weaviate)."""
    backup = backup_service(client, prefix)
    found = _postgres(backup)
    if weaviate:
        listed = run_tool(backup, "list")
        found += "\nWeaviate's backups, oldest first (where each is kept):\n" + (
            listed or "  none yet"
        )
    return found


def _postgres(backup: Container) -> str:
    found = kept_backups(backup)
    if not found:
        return f"{backup.name}: no base backup yet (the first is taken within a minute of start)"
    lines = [f"{backup.name}: {len(found)} base backup(s), newest last"]
    for entry in found:
        lines.append(
            f"  {entry['backup_id']}  {entry['status']:<8} ended {entry.get('end_time', '-')}"
            f"  {entry.get('size', '-')}  (+ WAL {entry.get('wal_size', '-')})"
        )
    done = [entry for entry in found if entry["status"] == "DONE"]
    if not done:
        lines.append("restorable: nothing yet (no completed base backup)")
        return "\n".join(lines)
    oldest = done[0]
    lines.append(
        f"restorable: from the end of {oldest['backup_id']} to the newest WAL filed "
        "(`vos-infra backup restore --stack <stack> --to <time|latest>`)"
    )
    return "\n".join(lines)
