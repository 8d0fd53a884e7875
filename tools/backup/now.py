"""`vos-infra backup now`: a PostgreSQL base backup now (Barman's own `backup --wait` in the
running service), then a Weaviate backup when the stack keeps those (before maintenance, or
to check that both still work)."""

from __future__ import annotations

import docker

from components.postgres_backup import files
from components.postgres_backup.definition import DEFINITION
from tools.backup.restore import RestoreError, backup_service
from tools.backup.weaviate import run_tool


def take_now(client: docker.DockerClient, prefix: str, weaviate: bool = False) -> list[str]:
    """One line per backup taken; RestoreError naming the one that failed."""
    service = backup_service(client, prefix)
    code, out = service.exec_run(
        ["barman", "-c", files.CONFIG, "backup", "--wait", files.SERVER],
        user=str(DEFINITION.image_uid),
    )
    assert isinstance(out, bytes), "exec_run without stream returns the whole output"
    text = out.decode(errors="replace").strip()
    if code != 0:
        raise RestoreError(f"barman backup failed (exit {code}): {text}")
    said = text.splitlines() or ["backed up"]
    # Barman's summary line; with --wait, lines about the WAL it waited for follow it.
    done = next((line for line in said if "Backup completed" in line), said[-1])
    lines = [f"PostgreSQL: {done.strip()}"]
    if weaviate:
        lines.append(f"Weaviate: {run_tool(service, 'backup')}")
    return lines
