"""`vos-infra backup list`: the base backups the stack's backup service keeps, and how far
back a restore can go."""

from __future__ import annotations

import json

import docker

from components.postgres_backup import files
from components.postgres_backup.containers import UID
from components.postgres_backup.definition import DEFINITION
from tools.backup.restore import RestoreError, running_container


def list_backups(client: docker.DockerClient, prefix: str) -> str:
    backup = running_container(client, f"{prefix}-{DEFINITION.dns_name}")
    code, out = backup.exec_run(
        ["barman", "-c", files.CONFIG, "--format", "json", "list-backups", files.SERVER],
        user=str(UID),
    )
    assert isinstance(out, bytes), "exec_run without stream returns the whole output"
    text = out.decode(errors="replace")
    if code != 0:
        raise RestoreError(f"barman list-backups failed (exit {code}):\n{text.strip()}")
    found = sorted(
        json.loads(text).get(files.SERVER, []),
        key=lambda entry: int(entry.get("end_time_timestamp") or 0),
    )
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
