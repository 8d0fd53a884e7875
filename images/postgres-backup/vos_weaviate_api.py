"""Weaviate's side of its backups (backup.weaviate): its REST API as the backup user, the
backups in its volume, and when to ask for the next one.

Weaviate writes a backup with its own backup-filesystem module into a volume it shares with
the backup service (BACKUP_FILESYSTEM_PATH); the service asks for one when the schedule
comes round, through Weaviate's documented REST API (POST /v1/backups/filesystem, then GET
/v1/backups/filesystem/<id> once a round until SUCCESS, FAILED or CANCELED), as the
`vos-backup` user whose only grants are `manage_backups` and reading collection definitions
(components/weaviate/roles.py). What is done with a finished one: vos_weaviate.py.

Runs inside the image (Debian's python3).
"""

from __future__ import annotations

import datetime
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BACKEND = "filesystem"
TIMEOUT_S = 30.0
ID_TIME = "%Y%m%dt%H%M%S"
BACKUP_ID = re.compile(r"vos-(?P<time>[0-9]{8}t[0-9]{6})")
"""Ours: Weaviate's ids are lowercase letters, digits, '_' and '-'."""
DESCRIPTOR = "backup_config.json"
"""What Weaviate writes at the top of a backup (usecases/backup: GlobalBackupFile), with
its status: a folder whose status is not SUCCESS is no backup (a failed or a killed one)."""
RUNNING_FOR_AT_MOST_S = 6 * 3600
"""A backup not finished by then is given up (counted as failed) and another one asked for."""


class WeaviateError(Exception):
    """Weaviate refused or failed; the message says what it answered."""


def backup_id(now: datetime.datetime) -> str:
    return f"vos-{now.astimezone(datetime.UTC).strftime(ID_TIME)}"


def taken_at(name: str) -> datetime.datetime:
    found = BACKUP_ID.fullmatch(name)
    assert found is not None, name
    return datetime.datetime.strptime(found["time"], ID_TIME).replace(tzinfo=datetime.UTC)


class WeaviateApi:
    """Weaviate's REST API over TLS verified with the platform CA, as the backup user (its
    key read at every call, so a rotated key is used as soon as its file changes)."""

    def __init__(self, url: str, key_file: str, ca: str) -> None:
        if not url.startswith("https://"):
            raise WeaviateError(f"{url}: Weaviate is reached over https only")
        self.url, self.key_file = url.rstrip("/"), key_file
        self.context = ssl.create_default_context(cafile=ca)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        key = Path(self.key_file).read_text().strip()
        request = urllib.request.Request(  # noqa: S310 (https only: __init__)
            f"{self.url}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            opened = urllib.request.urlopen(  # noqa: S310 (https only: __init__)
                request, timeout=TIMEOUT_S, context=self.context
            )
            with opened as got:
                return json.loads(got.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise WeaviateError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None
        except (urllib.error.URLError, OSError) as error:
            raise WeaviateError(f"{method} {path}: {error}") from None

    def collections(self) -> list[str]:
        return [c["class"] for c in self.call("GET", "/v1/schema").get("classes") or []]

    def start(self, name: str) -> str:
        return str(self.call("POST", f"/v1/backups/{BACKEND}", {"id": name}).get("status"))

    def status(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/v1/backups/{BACKEND}/{name}")
        return answer

    def cancel(self, name: str) -> None:
        """Weaviate stops a backup it is taking (DELETE /v1/backups/<backend>/<id>)."""
        self.call("DELETE", f"/v1/backups/{BACKEND}/{name}")

    def restore(self, name: str) -> str:
        return str(self.call("POST", f"/v1/backups/{BACKEND}/{name}/restore", {}).get("status"))

    def restore_status(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/v1/backups/{BACKEND}/{name}/restore")
        return answer


def finished(folder: Path) -> list[str]:
    """The ids of the backups in the volume that Weaviate finished, oldest first."""
    return [
        path.name
        for path in sorted(folder.glob("vos-*"))
        if BACKUP_ID.fullmatch(path.name) and status_of(path) == "SUCCESS"
    ]


def status_of(backup: Path) -> str | None:
    try:
        status = json.loads((backup / DESCRIPTOR).read_text()).get("status")
    except (OSError, ValueError):
        return None
    return str(status) if status else None


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@dataclass
class Outcome:
    """What a round did: a backup finished (its id and size), failed, or nothing yet."""

    done: str | None = None
    size_bytes: int = 0
    failed: str | None = None
    empty: bool = False


class WeaviateBackups:
    """The schedule's state between rounds: which backup is running, when the next is due."""

    def __init__(
        self,
        api: WeaviateApi,
        folder: Path,
        due: Callable[[datetime.datetime], datetime.datetime],
        now: datetime.datetime,
    ) -> None:
        self.api, self.folder, self.next_slot = api, folder, due
        self.running: tuple[str, datetime.datetime] | None = None
        # None finished yet (a new stack, or every one failed): one at the first round.
        self.due = self.next_slot(now) if finished(folder) else now

    def round(self, now: datetime.datetime) -> Outcome:
        if self.running is not None:
            return self._follow(now)
        if now < self.due:
            return Outcome()
        try:
            # Weaviate refuses to back up nothing. Asked again every round until there is
            # something (a new stack's agents store their first memories after it started).
            if not self.api.collections():
                return Outcome(empty=True)
            self.due = self.next_slot(now)
            name = backup_id(now)
            self.api.start(name)
        except WeaviateError as error:
            self.due = self.next_slot(now)
            return Outcome(failed=str(error))
        self.running = (name, now)
        return self._follow(now)

    def _follow(self, now: datetime.datetime) -> Outcome:
        assert self.running is not None
        name, started = self.running
        try:
            answer = self.api.status(name)
        except WeaviateError as error:
            answer = {"status": "UNKNOWN", "error": str(error)}
        status = answer.get("status")
        if status == "SUCCESS":
            self.running = None
            return Outcome(done=name, size_bytes=tree_size(self.folder / name))
        overdue = (now - started).total_seconds() > RUNNING_FOR_AT_MOST_S
        if overdue and status not in ("FAILED", "CANCELED"):
            # Given up: Weaviate is told to stop, so it neither goes on writing into a
            # folder the pruning may remove nor refuses the next backup as one in progress.
            try:
                self.api.cancel(name)
            except WeaviateError as error:
                status = f"{status}, not cancelled ({error})"
        if status in ("FAILED", "CANCELED") or overdue:
            self.running = None
            return Outcome(failed=f"{name}: {status} {answer.get('error') or ''}".strip())
        return Outcome()
