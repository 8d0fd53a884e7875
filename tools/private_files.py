"""Files only their owner may read: the dev Vault's keys and tokens, rendered secrets."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)  # mkdir leaves an existing folder's mode as it was


def write_private(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` (0600), creating its folder (0700). The file is created with
    its final mode, so it is never readable by others, not even for a moment."""
    private_dir(path.parent)
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    path.chmod(0o600)
