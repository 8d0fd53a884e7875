"""A disk filling under PostgreSQL (issue 30's full disk, for the database): its data
directory (the container's volume) on a filesystem of its own, then filled as a host's
data root fills (another volume, logs, images: here a file beside the data). What the
rendered server does, on Debian's PostgreSQL 15 started from the stack's files: a write
that needs room is refused with PostgreSQL's disk-full error while what is committed stays
readable; once room is freed (the runbook's PostgresFilesystemAlmostFull "Do") writes go on,
after a restart if the server stopped (as Docker's restart policy would), and nothing
committed before is lost. The watch that warns first is the backup service's filesystem
gauge (its figures checked against `df` in test_postgres_backup.py, the alerts' thresholds
by promtool)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest

from tests.integration.postgres_cluster import Cluster

DISK_MIB = 192
"""The data directory's filesystem: initdb and the stack's database take about 40 MB."""
LEFT_MIB = 1
"""Free room the filler leaves: less than the batch that follows needs."""
COMMITTED = 2000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    result = Cluster(tmp_path_factory.mktemp("pg-disk"), data_mib=DISK_MIB)
    try:
        yield result
    finally:
        result.server.stop()


def _gateway(cluster: Cluster) -> psycopg.Connection[Any]:
    return cluster.connect("api_gateway", cluster.password("api-gateway"), autocommit=True)


def _count(cluster: Cluster) -> int:
    with _gateway(cluster) as conn:
        row = conn.execute("select count(*) from drill").fetchone()
        assert row is not None
        return int(row[0])


def _fill(disk: Path) -> Path:
    """A file beside the data taking all but LEFT_MIB of the filesystem."""
    filler = disk / "filler"
    room = shutil.disk_usage(disk).free - LEFT_MIB * 2**20
    with filler.open("wb") as out:
        while room > 0:
            out.write(b"\0" * min(room, 2**20))
            room -= 2**20
    os.sync()
    return filler


def test_a_full_disk_refuses_writes_keeps_what_was_committed_and_writes_go_on_once_freed(
    cluster: Cluster,
) -> None:
    server = cluster.server
    assert server.disk is not None
    with _gateway(cluster) as conn:
        conn.execute("create table drill (id int, pad text)")
        conn.execute(
            "insert into drill select g, repeat('x', 100) from generate_series(1, %s) g",
            (COMMITTED,),
        )
    filler = _fill(server.disk)
    try:
        free = shutil.disk_usage(server.disk)
        # What PostgresFilesystemAlmostFull reads (free share under 5 %) holds now.
        assert 100 * free.free / free.total < 5
        with pytest.raises(psycopg.Error) as refused, _gateway(cluster) as conn:
            conn.execute(
                "insert into drill select g, repeat('y', 1000) from generate_series(1, 20000) g"
            )
        # Refused for want of room: PostgreSQL's disk-full error (53100), or, when its WAL
        # could not be written, the connection lost as the server stopped (its log says why).
        error = refused.value
        log = (server.root / "server.log").read_text(errors="replace")
        assert isinstance(error, psycopg.errors.DiskFull) or "No space left on device" in log, (
            error,
            log[-2000:],
        )
        if server.process is not None and server.process.poll() is None:
            assert _count(cluster) == COMMITTED  # reads go on meanwhile
    finally:
        filler.unlink()
    if server.process is None or server.process.poll() is not None:
        server.start(initialise=False)  # as the container's restart policy would
    with _gateway(cluster) as conn:
        conn.execute("insert into drill values (0, 'after')")
    assert _count(cluster) == COMMITTED + 1
