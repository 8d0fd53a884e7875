"""A secret the Vault Agent sidecar renders into a file, re-read when the file changes
(the contract's reload rule): the sidecar replaces the file atomically (a rename), so a
new inode or modification time means a new value; a stat per use is cheap."""

from __future__ import annotations

import os
from pathlib import Path


class SecretFile:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None
        self._value = ""

    def value(self) -> str:
        """The current value ("" while the file is missing or empty)."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._value = None, ""
            return ""
        seen = (status.st_ino, status.st_mtime_ns, status.st_size)
        if seen != self._seen:
            self._value = self.path.read_text().strip()
            self._seen = seen
        return self._value

    def ready(self) -> bool:
        return bool(self.value())
