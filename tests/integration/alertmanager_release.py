"""Alertmanager as the stacks pin it (0.28.1): Debian trixie's build, whose two static
binaries scripts/system-deps.sh fetches, checks by SHA-256 and keeps here. Bookworm's
0.25 (the package installed beside it) reads no webhook URL from a file."""

from __future__ import annotations

from pathlib import Path

RELEASE = Path("/opt/vos-infra-tests/alertmanager-0.28.1/usr/bin")
"""scripts/system-deps.sh ALERTMANAGER_DIR, then the package's usr/bin."""


def binary(name: str) -> str:
    """`prometheus-alertmanager` or `amtool` of 0.28.1."""
    path = RELEASE / name
    if not path.is_file():
        raise FileNotFoundError(f"no {path}: run scripts/system-deps.sh as root, which fetches it")
    return str(path)
