"""Weaviate's backups (backup.weaviate), kept by the backup service: each round asks
Weaviate's side (vos_weaviate_api.py) for the schedule's step; a finished backup is sealed
with the stack's backup key into the same store as PostgreSQL's copies
(`weaviate/<id>.tar.sealed`), and what the recovery window no longer needs is removed from
the store and the volume alike.

Restore (`vos_weaviate.py restore --id <id>|latest`): the sealed copy is fetched and opened
into the volume when it is not there, then Weaviate restores it (POST .../<id>/restore).
Weaviate refuses to restore a collection that exists: delete it first (docs/backups.md).

Runs inside the image (Debian's python3), called by vos_backup.py each round.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import sys
import tarfile
import time
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
from vos_weaviate_api import (
    BACKUP_ID,
    DESCRIPTOR,
    RUNNING_FOR_AT_MOST_S,
    Outcome,
    WeaviateApi,
    WeaviateBackups,
    WeaviateError,
    finished,
    status_of,
    taken_at,
    tree_size,
)

OBJECT = re.compile(r"weaviate/(?P<id>" + BACKUP_ID.pattern + r")\.tar" + re.escape(SEALED))


def sealed_name(name: str) -> str:
    """Backup `name`'s sealed copy in the store (what OBJECT reads back)."""
    return f"weaviate/{name}.tar{SEALED}"


def expired(names: Iterable[str], window: datetime.timedelta, now: datetime.datetime) -> set[str]:
    """Backups taken before the window, but for the newest of them (the window's start is
    restored from it)."""
    before = sorted((n for n in names if taken_at(n) < now - window), key=taken_at)
    return set(before[:-1])


def push(folder: Path, store: Store, key: Key, scratch: Path) -> int:
    """_push, one pusher at a time in the scratch folder (vos_seal.scratch_lock)."""
    with scratch_lock(scratch):
        return _push(folder, store, key, scratch)


def _push(folder: Path, store: Store, key: Key, scratch: Path) -> int:
    """Seals and puts every finished backup the store lacks; the number put."""
    present = store.names()
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    sealed, put = scratch / "weaviate.sealed", 0
    for name in finished(folder):
        object_name = sealed_name(name)
        if object_name in present:
            continue
        seal_path(folder / name, sealed, key, object_name)
        store.put(object_name, sealed)
        sealed.unlink()
        put += 1
    return put


def prune(
    folder: Path, store: Store | None, window: datetime.timedelta, now: datetime.datetime
) -> int:
    """Removes what the window no longer needs from the store (judged from the store alone)
    and from the volume (judged from the volume); the number removed."""
    removed = 0
    if store is not None:
        kept = {m["id"]: n for n in store.names() if (m := OBJECT.fullmatch(n))}
        for name in sorted(expired(kept, window, now)):
            store.delete(kept[name])
            removed += 1
    local = [p.name for p in folder.glob("vos-*") if BACKUP_ID.fullmatch(p.name)]
    done = set(finished(folder))
    keep = done - expired(done, window, now)
    for name in local:
        # An unfinished folder goes once Weaviate gave it up (its status says so), or a
        # day after a backup may run at the longest (a server killed mid-backup says
        # nothing): never one Weaviate may still be writing.
        given_up = status_of(folder / name) in ("FAILED", "CANCELED")
        stale = taken_at(name) < now - 4 * datetime.timedelta(seconds=RUNNING_FOR_AT_MOST_S)
        if name not in keep and (name in done or given_up or stale):
            # Another pruner (the service's loop, a command run in it) may be at it too.
            shutil.rmtree(folder / name, ignore_errors=True)
            removed += 1
    return removed


@dataclass
class Report(Outcome):
    copied: int = 0
    removed: int = 0
    kept: int = 0
    newest_at: float = 0.0
    """When the newest backup in the volume finished (its descriptor's last write; 0:
    none): what the service says after a restart, before its next backup."""
    newest_bytes: int = 0
    copy_error: str | None = None
    """The copy to the store (or its pruning) failed: the volume is then not pruned either,
    so no backup leaves it before it is in the store."""


class Keeper:
    """A round of the backup service for Weaviate: the schedule's step, then the sealed
    copies (when the stack has a store) and the pruning to the recovery window."""

    def __init__(
        self,
        backups: WeaviateBackups,
        window_days: int,
        store: Store | None = None,
        key_file: str | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.backups, self.window = backups, datetime.timedelta(days=window_days)
        self.store, self.key_file, self.scratch = store, key_file, scratch

    def round(self, now: datetime.datetime) -> Report:
        outcome = self.backups.round(now)
        report = Report(**vars(outcome))
        folder = self.backups.folder
        try:
            if self.store is not None and self.key_file and self.scratch is not None:
                report.copied = push(folder, self.store, Key.read(self.key_file), self.scratch)
            report.removed = prune(folder, self.store, self.window, now)
        # The store away (a network, a credential): the round's outcome still counts.
        except Exception as error:
            report.copy_error = repr(error)
        kept = finished(folder)
        report.kept = len(kept)
        if kept:
            report.newest_at = (folder / kept[-1] / DESCRIPTOR).stat().st_mtime
            report.newest_bytes = tree_size(folder / kept[-1])
        return report


def fetch(store: Store, keys: Mapping[bytes, Key], name: str, folder: Path, scratch: Path) -> None:
    """_fetch, one opener at a time in the scratch folder (vos_seal.scratch_lock)."""
    with scratch_lock(scratch):
        return _fetch(store, keys, name, folder, scratch)


def _fetch(store: Store, keys: Mapping[bytes, Key], name: str, folder: Path, scratch: Path) -> None:
    """Opens the sealed copy of backup `name` into the volume (it unpacks as <name>/...)."""
    object_name = sealed_name(name)
    if object_name not in store.names():
        raise OffsiteError(f"{object_name}: not in the store")
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    sealed, plain = scratch / "weaviate.sealed", scratch / "weaviate.plain"
    store.get(object_name, sealed)
    open_file(sealed, plain, keys, object_name)
    sealed.unlink()
    with tarfile.open(plain, mode="r:") as archive:
        members = safe_members(archive, object_name)
        if any(Path(m.name).parts[0] != name for m in members):
            raise OffsiteError(f"{object_name}: holds something other than {name}/")
        # Modes as Weaviate made them: Weaviate writes its restore's status into the folder
        # through the group's write bit, which Python 3.14's default filter would clear
        # (members checked above; the filter argument only where this Python has it).
        trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        archive.extractall(folder, members=members, **trusted)  # type: ignore[arg-type]  # noqa: S202
    plain.unlink()


def restore(api: WeaviateApi, name: str, wait_s: float = 3600.0) -> str:
    """Asks Weaviate to restore `name` and waits for the end; its final status."""
    api.restore(name)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        answer = api.restore_status(name)
        if answer.get("status") in ("SUCCESS", "FAILED", "CANCELED"):
            if answer["status"] != "SUCCESS":
                raise WeaviateError(f"restore of {name}: {answer['status']} {answer.get('error')}")
            return "SUCCESS"
        time.sleep(2)
    raise WeaviateError(f"restore of {name}: not finished within {wait_s:.0f} s")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vos_weaviate.py")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the backups in the volume and in the store")
    taking = commands.add_parser("backup", help="a backup now, copied and pruned as a round")
    taking.add_argument("--key", help="the key that seals the copies (the store's)")
    taking.add_argument("--window-days", type=int, default=7, help="backups kept")
    restoring = commands.add_parser("restore", help="a backup back into Weaviate")
    restoring.add_argument("--id", required=True, help="a backup's id, or `latest`")
    restoring.add_argument("--keys", nargs="*", default=[], help="key files (copies only)")
    for command in (listing, taking, restoring):
        command.add_argument("--folder", required=True, help="BACKUP_FILESYSTEM_PATH")
        add_store_arguments(command)
    for command in (taking, restoring):
        command.add_argument("--url", required=True, help="Weaviate's https:// address")
        command.add_argument("--ca", required=True, help="the CA of Weaviate's certificate")
        command.add_argument("--key-file", required=True, help="the backup user's API key")
        command.add_argument("--scratch", default="/tmp/vos-weaviate")  # noqa: S108
    return parser.parse_args(argv)


def take(keeper: Keeper, wait_s: float = 3600.0) -> Report:
    """A backup now: rounds until it finished or failed (the copy and pruning follow)."""
    deadline = time.monotonic() + wait_s
    report = keeper.round(datetime.datetime.now(datetime.UTC))
    while keeper.backups.running is not None and time.monotonic() < deadline:
        time.sleep(2)
        report = keeper.round(datetime.datetime.now(datetime.UTC))
    return report


def main(argv: list[str] | None = None) -> None:
    """`list`: the backups in the volume and in the store; `backup`: one now (before
    maintenance); `restore`: one of them back into Weaviate, fetched from the store first
    when the volume lacks it."""
    args = _arguments(argv)
    folder = Path(args.folder)
    store = store_from(args) if args.store_dir or args.s3_bucket else None
    copies = {m["id"] for n in store.names() if (m := OBJECT.fullmatch(n))} if store else set()
    local = set(finished(folder))
    known = sorted(local | copies, key=taken_at)
    try:
        if args.command == "list":
            for name in known:
                places = (("volume", name in local), ("store", name in copies))
                where = " ".join(place for place, has in places if has)
                print(f"{name}  {taken_at(name).isoformat()}  {where}")
            return
        api = WeaviateApi(args.url, args.key_file, args.ca)
        if args.command == "backup":
            now = datetime.datetime.now(datetime.UTC)
            backups = WeaviateBackups(api, folder, lambda _: now + datetime.timedelta(days=1), now)
            backups.due = now
            keeper = Keeper(backups, args.window_days, store, args.key, Path(args.scratch))
            report = take(keeper)
            if report.failed or not (report.done or report.empty):
                sys.exit(f"vos_weaviate.py: backup failed: {report.failed or 'not finished'}")
            print(
                f"{report.done or 'nothing to back up'}: {report.copied} copied, "
                f"{report.removed} removed, {report.kept} in the volume"
            )
            return
        name = known[-1] if args.id == "latest" and known else args.id
        if name not in known:
            sys.exit(f"vos_weaviate.py: no backup {name!r} (`list` shows them)")
        if name not in local:
            if store is None or not args.keys:
                sys.exit(f"vos_weaviate.py: {name} is only in the store: name it and --keys")
            fetch(store, keyring(Key.read(p) for p in args.keys), name, folder, Path(args.scratch))
        print(f"{name}: {restore(api, name)}")
    except (OffsiteError, WeaviateError) as error:
        sys.exit(f"vos_weaviate.py: {error}")


if __name__ == "__main__":
    main()
