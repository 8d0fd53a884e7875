"""Lay a container's rendered files out on this machine for a real server to read.

Container paths under /etc/vos move to a folder of the test; the image's uid (999) becomes
the local account the server runs as. Nothing else changes: same contents, same modes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

from components.docker.spec import CONFIG_DIR
from tools.offline.rendered import RenderedContainer


def service_account(name: str) -> tuple[int, int]:
    """The local account a server runs as: the named system user when we are root, else us."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid
    return os.getuid(), os.getgid()


def run_as(name: str) -> list[str]:
    """A command prefix that runs as the account with the environment left exactly as
    given. Not runuser/su: they reset HOME (runuser(1)), so a server would read the
    account's own files (RabbitMQ's Erlang cookie) instead of the rendered ones."""
    if os.geteuid() != 0:
        return []
    uid, gid = service_account(name)
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def private_workdir(account: str, prefix: str) -> Path:
    """A folder the server account owns (pytest's tmp folders are root-only when root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    uid, gid = service_account(account)
    os.chown(path, uid, gid)
    path.chmod(0o700)
    return path


def lay_out(
    container: RenderedContainer, root: Path, account: str, elsewhere: dict[str, Path] | None = None
) -> Path:
    """Write every upload under root/etc/<path below /etc/vos> (or, for paths outside
    /etc/vos, under the folder `elsewhere` maps their prefix to); return the new CONFIG_DIR."""
    uid, gid = service_account(account)
    config = root / "etc"
    prefixes = {CONFIG_DIR: config, **(elsewhere or {})}
    for file in container.files.values():
        prefix = next(p for p in prefixes if file.path.startswith(p + "/"))
        target = prefixes[prefix] / file.path.removeprefix(prefix).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        for parent in [target.parent, *target.parent.parents]:
            if parent == root.parent:
                break
            os.chown(parent, uid, gid)
        target.write_text(remap(file.content, config))
        os.chown(target, uid, gid)
        target.chmod(int(file.mode, 8))
    return config


def remap(text: str, config: Path) -> str:
    return text.replace(CONFIG_DIR, str(config))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
