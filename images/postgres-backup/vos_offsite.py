"""Off-host copies of Barman's backups: sealed here (encrypted and authenticated), put in a
store (an S3 bucket, or a second volume in dev), pruned to the recovery window, and fetched
back and opened for a restore.

Why the client seals (vos_seal.py): the store and whoever reads it (a leaked access key, a
bucket policy gone wrong, its operator) see ciphertext only. The backup service holds only
the current key: it holds the plaintext backups already, on its own volume. Stores:
vos_stores.py.

Runs inside the image (Debian's python3-cryptography, python3-boto3), called by
vos_backup.py after each round, and as `vos_offsite.py push|fetch` (a copy now; a restore).
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vos_seal import (
    SEALED,
    Key,
    OffsiteError,
    keyring,
    open_file,
    safe_members,
    scratch_lock,
    seal_path,
)
from vos_stores import Store, add_store_arguments, store_from

WAL = re.compile(r"[0-9A-F]{8}(\.history|[0-9A-F]{16}(\.[0-9A-F]{8}\.backup)?)")
"""What Barman files under wals/: segments, timeline histories, backup labels."""
TAR = ".tar" + SEALED
"""How every object's name ends: each is a sealed tar."""
BASE = re.compile(r"base/(?P<id>\d{8}T\d{6})\.(?P<begin_wal>[0-9A-F]{24})" + re.escape(TAR))
WAL_OBJECT = re.compile(r"wals/(?:[0-9A-F]{16}/)?(?:" + WAL.pattern + ")" + re.escape(TAR))
"""A WAL copy's name: where Barman files it (histories at the top), so a fetch lays out
nothing anywhere else, whatever names a store holds."""
BACKUP_ID = "%Y%m%dT%H%M%S"


def backup_info(directory: Path) -> dict[str, str]:
    """Barman's backup.info: key=value lines."""
    found = {}
    for line in (directory / "backup.info").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            found[name.strip()] = value.strip()
    return found


def local_objects(server: Path) -> dict[str, Path]:
    """Store name -> what to seal: every completed base backup and every WAL file Barman
    has filed (not the stream still being received). Each is sealed as a tar, which keeps
    the files' times: Barman's WAL index, rebuilt after a fetch, reads them, and a restore
    to a point in time picks its WAL by them."""
    found: dict[str, Path] = {}
    for directory in sorted((server / "base").glob("*")):
        if not (directory / "backup.info").is_file():
            continue
        info = backup_info(directory)
        if info.get("status") == "DONE" and WAL.fullmatch(info.get("begin_wal", "")):
            found[f"base/{directory.name}.{info['begin_wal']}{TAR}"] = directory
    wals = server / "wals"
    for path in sorted(wals.rglob("*")):
        if path.is_file() and WAL.fullmatch(path.name):
            found[f"wals/{path.relative_to(wals).as_posix()}{TAR}"] = path
    return found


@dataclass
class Report:
    uploaded: int = 0
    uploaded_bytes: int = 0
    pruned: int = 0
    objects: int = 0


def push(server: Path, store: Store, key: Key, scratch: Path) -> Report:
    """_push, one pusher at a time in the scratch folder (vos_seal.scratch_lock)."""
    with scratch_lock(scratch):
        return _push(server, store, key, scratch)


def _push(server: Path, store: Store, key: Key, scratch: Path) -> Report:
    """Seals and puts what the store does not have yet. Base backups and filed WAL never
    change once there, so a name in the store is a copy done."""
    report = Report()
    present = store.names()
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    sealed = scratch / "object.sealed"
    for name, path in local_objects(server).items():
        if name in present:
            continue
        seal_path(path, sealed, key, name)
        report.uploaded_bytes += sealed.stat().st_size
        store.put(name, sealed)
        sealed.unlink()
        report.uploaded += 1
        present.add(name)
    report.objects = len(present)
    return report


def expired(names: Iterable[str], window: datetime.timedelta, now: datetime.datetime) -> set[str]:
    """What the recovery window no longer needs, judged from the store alone (so a lost
    local volume prunes nothing): base backups that started before the window, but for the
    newest of them (the window's start is restored from it), and WAL older than the oldest
    base backup kept. Timeline histories stay."""
    names = set(names)
    bases = sorted((m for n in names if (m := BASE.fullmatch(n))), key=lambda m: m["id"])
    if not bases:
        return set()
    start = now - window
    inside = [
        m for m in bases
        if datetime.datetime.strptime(m["id"], BACKUP_ID).replace(tzinfo=datetime.UTC) >= start
    ]  # fmt: skip
    before = [m for m in bases if m not in inside]
    kept = inside + before[-1:]
    oldest_wal = min(m["begin_wal"] for m in kept)
    gone = {m.group(0) for m in bases if m not in kept}
    for name in names:
        segment = name.rsplit("/", 1)[-1].removesuffix(TAR)
        wal = name.startswith("wals/") and not segment.endswith(".history")
        if wal and segment[:24] < oldest_wal:
            gone.add(name)
    return gone


def prune(store: Store, window: datetime.timedelta, now: datetime.datetime) -> int:
    gone = expired(store.names(), window, now)
    for name in sorted(gone):
        store.delete(name)
    return len(gone)


def fetch(store: Store, keys: Mapping[bytes, Key], server: Path, scratch: Path) -> list[str]:
    """_fetch, one opener at a time in the scratch folder (vos_seal.scratch_lock)."""
    with scratch_lock(scratch):
        return _fetch(store, keys, server, scratch)


def _fetch(store: Store, keys: Mapping[bytes, Key], server: Path, scratch: Path) -> list[str]:
    """Every copy in the store, opened into a Barman server folder laid out as Barman
    keeps it (base/<id>/..., wals/<prefix>/<segment>); `barman rebuild-xlogdb` then makes
    its WAL index. Returns the base backup ids. Any object that does not open stops it."""
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    sealed, plain = scratch / "object.sealed", scratch / "object.plain"
    ids = []
    for name in sorted(store.names()):
        base = BASE.fullmatch(name)
        if not base and not WAL_OBJECT.fullmatch(name):
            continue
        store.get(name, sealed)
        open_file(sealed, plain, keys, name)
        sealed.unlink()
        folder = server / "base" if base else (server / name).parent
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(plain, mode="r:") as archive:
            archive.extractall(folder, members=safe_members(archive, name))  # noqa: S202 (checked)
        plain.unlink()
        if base:
            ids.append(base["id"])
    return ids


def main(argv: list[str] | None = None) -> None:
    """`push`: a copy now (before maintenance; what each round of vos_backup.py does);
    `fetch`: what a restore runs, before `barman rebuild-xlogdb`."""
    parser = argparse.ArgumentParser(prog="vos_offsite.py")
    commands = parser.add_subparsers(dest="command", required=True)
    pushing = commands.add_parser("push", help="seal and put what the store lacks")
    pushing.add_argument("--key", required=True, help="the current key's file")
    fetching = commands.add_parser("fetch", help="open every copy into a Barman server folder")
    fetching.add_argument("--keys", required=True, nargs="+", help="files, one key each")
    for command in (pushing, fetching):
        add_store_arguments(command)
        command.add_argument("--server-dir", required=True, help="<barman_home>/<server>")
        command.add_argument("--scratch", required=True, help="where objects are sealed/opened")
    args = parser.parse_args(argv)
    if not args.store_dir and not args.s3_bucket:
        parser.error("name the store: --store-dir or --s3-bucket")
    store, server, scratch = store_from(args), Path(args.server_dir), Path(args.scratch)
    try:
        if args.command == "push":
            report = push(server, store, Key.read(args.key), scratch)
            done = f"put {report.uploaded} objects ({report.uploaded_bytes} bytes)"
            print(f"{done}, {report.objects} in the store")
        else:
            ids = fetch(store, keyring(Key.read(path) for path in args.keys), server, scratch)
            print(f"fetched base backups: {' '.join(ids) or 'none'}")
    except OffsiteError as error:
        sys.exit(f"vos_offsite.py: {error}")


if __name__ == "__main__":
    main()
