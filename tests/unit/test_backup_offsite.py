"""The backup image's off-host copies (images/postgres-backup: vos_offsite.py, vos_seal.py,
vos_stores.py): sealing, the keys that open what, what a round puts and what the window
prunes, on a Barman-shaped folder. With the real Barman, PostgreSQL and S3 (moto) in
tests/integration/test_postgres_backup.py."""

from __future__ import annotations

import datetime
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.backup_image import load_scheduler, load_sibling

vos_backup = load_scheduler()
offsite, seal, stores = (load_sibling(n) for n in ("vos_offsite", "vos_seal", "vos_stores"))
KEY = seal.Key(b"k" * 64)
ROTATED = seal.Key(b"r" * 64)
SEGMENTS = ("000000010000000000000002", "000000010000000000000003", "000000010000000000000004")


def _sealed(tmp_path: Path, data: bytes, key: Any, name: str = "wals/x.sealed") -> Path:
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(data)
    seal.seal_path(plain, sealed, key, name)
    return sealed


def _content(opened: Path) -> bytes:
    with tarfile.open(opened) as archive:
        member = archive.extractfile("plain")
        assert member is not None
        return member.read()


def test_a_sealed_object_opens_only_with_its_key_and_its_name(tmp_path: Path) -> None:
    data = os.urandom(3 * seal.CHUNK + 5) + b"orders: the rows of a customer"
    sealed = _sealed(tmp_path, data, KEY)
    assert b"the rows of a customer" not in sealed.read_bytes()
    assert b"plain" not in sealed.read_bytes()  # nor the tar's member names
    opened = tmp_path / "opened"
    seal.open_file(sealed, opened, seal.keyring([ROTATED, KEY]), "wals/x.sealed")
    assert _content(opened) == data
    # Another key: refused by its id, naming the one it needs.
    with pytest.raises(seal.OffsiteError, match=KEY.id.hex()):
        seal.open_file(sealed, tmp_path / "no", seal.keyring([ROTATED]), "wals/x.sealed")
    # Moved to another name in the store: the name is authenticated with it.
    with pytest.raises(seal.OffsiteError, match="does not authenticate"):
        seal.open_file(sealed, tmp_path / "moved", seal.keyring([KEY]), "wals/y.sealed")
    assert not (tmp_path / "moved").exists()  # nothing opened is left when the tag fails


def test_an_altered_byte_anywhere_refuses_the_whole_object(tmp_path: Path) -> None:
    sealed = _sealed(tmp_path, b"x" * 1000, KEY)
    original = sealed.read_bytes()
    for at in (len(seal.MAGIC) + seal.ID_BYTES + 1, 100, len(original) - 1):
        altered = bytearray(original)
        altered[at] ^= 1
        sealed.write_bytes(bytes(altered))
        with pytest.raises(seal.OffsiteError, match="does not authenticate"):
            seal.open_file(sealed, tmp_path / "o", seal.keyring([KEY]), "wals/x.sealed")
    sealed.write_bytes(b"plain text, never sealed " * 4)
    with pytest.raises(seal.OffsiteError, match="not a sealed backup object"):
        seal.open_file(sealed, tmp_path / "o", seal.keyring([KEY]), "wals/x.sealed")
    sealed.write_bytes(original[: seal.HEADER_BYTES + seal.TAG_BYTES - 1])
    with pytest.raises(seal.OffsiteError, match="too short"):
        seal.open_file(sealed, tmp_path / "o", seal.keyring([KEY]), "wals/x.sealed")


def test_a_key_is_named_by_a_stable_id_and_a_short_key_is_refused(tmp_path: Path) -> None:
    assert seal.Key(b"k" * 64).id == KEY.id != ROTATED.id
    assert len(KEY.id) == seal.ID_BYTES and KEY.id not in KEY.secret
    short = tmp_path / "key"
    short.write_text("too-short\n")
    with pytest.raises(seal.OffsiteError, match="not a backup key"):
        offsite.Key.read(short)


def _barman_server(root: Path) -> Path:
    """A server folder as Barman keeps it: two completed base backups, one failed, filed
    WAL, a timeline history, the WAL index."""
    server = root / "vos"
    for backup_id, status, begin in (
        ("20261201T030000", "DONE", SEGMENTS[0]),
        ("20261203T030000", "DONE", SEGMENTS[1]),
        ("20261204T030000", "FAILED", SEGMENTS[2]),
    ):
        folder = server / "base" / backup_id
        (folder / "data" / "global").mkdir(parents=True)
        (folder / "data" / "global" / "pg_control").write_bytes(os.urandom(64))
        (folder / "backup.info").write_text(f"status={status}\nbegin_wal={begin}\n")
    wals = server / "wals"
    for hours, segment in enumerate(("000000010000000000000001", *SEGMENTS)):
        (wals / segment[:16]).mkdir(parents=True, exist_ok=True)
        (wals / segment[:16] / segment).write_bytes(os.urandom(128))
        filed = datetime.datetime(2026, 12, 1, hours, tzinfo=datetime.UTC).timestamp()
        os.utime(wals / segment[:16] / segment, (filed, filed))
    (wals / "00000002.history").write_text("1\t0/3000000\tno recovery target specified\n")
    (wals / "xlog.db").write_text("index\n")
    return server


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_round_puts_what_the_store_lacks_and_a_fetch_lays_barman_out_again(
    tmp_path: Path,
) -> None:
    server = _barman_server(tmp_path / "home")
    store = stores.DirectoryStore(tmp_path / "store")
    first = offsite.push(server, store, KEY, tmp_path / "scratch")
    names = store.names()
    assert first.uploaded == len(names) == first.objects == 2 + 4 + 1
    assert not any("20261204T030000" in n or "xlog.db" in n for n in names)  # failed, index
    again = offsite.push(server, store, KEY, tmp_path / "scratch")
    assert (again.uploaded, again.objects) == (0, first.objects)
    # nothing left in plaintext aside: only the (empty) lock of one sealer at a time
    assert [p.name for p in (tmp_path / "scratch").iterdir()] == [".lock"]
    assert (tmp_path / "scratch" / ".lock").stat().st_size == 0

    restored = tmp_path / "restored" / "vos"
    ids = offsite.fetch(store, seal.keyring([KEY]), restored, tmp_path / "scratch2")
    assert ids == ["20261201T030000", "20261203T030000"]
    expected = {
        k: v
        for k, v in _tree(server).items()
        if not k.startswith("base/20261204T030000") and k != "wals/xlog.db"
    }
    assert _tree(restored) == expected
    # A store may hold any name (S3 does): one that is not a copy's is left alone, even
    # sealed with the key under that very name, so nothing lands outside the folder.
    memory = _Memory({n: (tmp_path / "store" / n).read_bytes() for n in names})
    traversal = "wals/0000000100000000/../../../escaped.tar.sealed"
    segment = server / "wals" / "0000000100000000" / SEGMENTS[0]
    seal.seal_path(segment, tmp_path / "evil", KEY, traversal)
    memory.objects[traversal] = (tmp_path / "evil").read_bytes()
    again = tmp_path / "again" / "vos"
    assert offsite.fetch(memory, seal.keyring([KEY]), again, tmp_path / "s4") == ids
    assert _tree(again) == expected
    outside = [p for p in again.parent.rglob("*") if p.is_file() and again not in p.parents]
    assert outside == []
    # A wrong key stops the fetch at the first object.
    with pytest.raises(seal.OffsiteError, match="none of the keys"):
        offsite.fetch(store, seal.keyring([ROTATED]), tmp_path / "r2", tmp_path / "s3")


class _Memory:
    """A store that holds whatever names it is given (as a bucket does)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def names(self) -> set[str]:
        return set(self.objects)

    def get(self, name: str, path: Path) -> None:
        path.write_bytes(self.objects[name])


def test_after_a_rotation_new_copies_use_the_new_key_and_old_ones_still_open(
    tmp_path: Path,
) -> None:
    server = _barman_server(tmp_path / "home")
    store = stores.DirectoryStore(tmp_path / "store")
    offsite.push(server, store, KEY, tmp_path / "scratch")
    segment = "000000010000000000000005"
    (server / "wals" / segment[:16] / segment).write_bytes(b"after the rotation")
    assert offsite.push(server, store, ROTATED, tmp_path / "scratch").uploaded == 1
    with pytest.raises(seal.OffsiteError, match=KEY.id.hex()):
        offsite.fetch(store, seal.keyring([ROTATED]), tmp_path / "r1", tmp_path / "s1")
    restored = tmp_path / "r2"
    offsite.fetch(store, seal.keyring([KEY, ROTATED]), restored, tmp_path / "s2")
    assert (restored / "wals" / segment[:16] / segment).read_bytes() == b"after the rotation"


def _base(backup_id: str, begin: str) -> str:
    return f"base/{backup_id}.{begin}{offsite.TAR}"


def _wal(segment: str) -> str:
    return f"wals/{segment[:16]}/{segment}{offsite.TAR}"


def test_the_window_prunes_from_the_store_alone_and_keeps_what_its_start_needs() -> None:
    now = datetime.datetime(2026, 12, 10, 12, tzinfo=datetime.UTC)
    window = datetime.timedelta(days=7)
    old, start, inside = (
        _base("20261201T030000", SEGMENTS[0]),  # before the window, and not its newest
        _base("20261202T030000", SEGMENTS[1]),  # before it: the window's start needs it
        _base("20261205T030000", SEGMENTS[2]),
    )
    wals = [_wal("000000010000000000000001"), *map(_wal, SEGMENTS)]
    history = f"wals/00000002.history{offsite.TAR}"
    names = {old, start, inside, history, *wals}
    assert offsite.expired(names, window, now) == {old, wals[0], wals[1]}
    # Nothing but old backups: the newest stays, with its WAL.
    later = now + datetime.timedelta(days=30)
    assert offsite.expired(names, window, later) == {old, start, wals[0], wals[1], wals[2]}
    # A store without base backups (a first round cut short) loses nothing.
    assert offsite.expired({history, *wals}, window, now) == set()


class _Copier:
    def __init__(self, fails: bool) -> None:
        self.fails = fails

    def copy(self, now: datetime.datetime) -> Any:
        if self.fails:
            raise ConnectionError("store unreachable")
        return offsite.Report(uploaded=2, uploaded_bytes=300, pruned=1, objects=9)


def _value(status: Any, name: str) -> float:
    found = status.registry.get_sample_value(name)
    assert found is not None, name
    return float(found)


def test_a_failed_copy_round_is_counted_and_the_last_success_stays(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = vos_backup.Status("0 3 * * *")
    first = datetime.datetime(2026, 12, 4, 3, tzinfo=datetime.UTC)
    vos_backup.copy_round(_Copier(fails=False), status, first)
    vos_backup.copy_round(_Copier(fails=True), status, first + datetime.timedelta(minutes=1))
    assert _value(status, "vos_backup_offsite_last_success_timestamp_seconds") == first.timestamp()
    assert _value(status, "vos_backup_offsite_failures_total") == 1
    assert _value(status, "vos_backup_offsite_objects") == 9
    assert _value(status, "vos_backup_offsite_uploaded_bytes_total") == 300
    assert "store unreachable" in capsys.readouterr().err
