"""A switch-over to a restore (backup.postgres.restoredVolume) on real software: Debian's
PostgreSQL 15 and Barman with the rendered files, the image's entrypoint with the rendered
arguments. The restored server, promoted on a timeline of its own, takes the old one's place
(its port, its name); the entrypoint, started again as the replaced container is with the
new volume's name, resets Barman's stream to that timeline and takes a base backup at once,
and Barman's own checks pass. Without the reset the stream is refused for ever ("requested
starting point ... is not in this server's history"): the entrypoint's reason to exist. Going
back (the setting removed) is the same replacement the other way."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from components.postgres_backup import files
from tests.integration.backup_service import ACCOUNT
from tests.integration.backup_setup import Setup
from tests.integration.local_files import run_as
from tests.integration.postgres_server import PostgresServer

RESTORED = "vos-dev-postgres-restore-20261204T102900Z"
OWN = "vos-dev-postgres-data"


def _check(setup: Setup) -> subprocess.CompletedProcess[str]:
    """The container's healthcheck (`barman check --nagios`), as rendered."""
    command = setup.backup.command(*setup.backup.container.healthcheck)
    return subprocess.run(
        [*run_as(ACCOUNT), *command], capture_output=True, text=True, timeout=120, check=False
    )


def _followed(setup: Setup, volume: str) -> None:
    """The entrypoint started again as the replaced container is, with `volume`'s name: done
    once a base backup of the server now there succeeded (then it says so), and Barman's
    checks pass."""
    after = time.time()
    setup.backup.start(server_volume=volume)
    deadline = time.monotonic() + 240
    while f"switched over to {volume}" not in setup.backup.log():
        assert time.monotonic() < deadline, setup.backup.log()[-3000:]
        time.sleep(2)
    assert [
        b for b in setup.backup.backups()
        if b["status"] == "DONE" and float(b["end_time_timestamp"]) > after
    ]  # fmt: skip
    checked = _check(setup)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_after_a_switch_over_the_entrypoint_follows_the_new_timeline(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    restored = PostgresServer(setup.cluster.rendered["postgres"])
    try:
        setup.backup.start()
        setup.backup.wait_for_backup()
        with setup.gateway() as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
            conn.execute("INSERT INTO orders SELECT generate_series(1, 300)")
            moment = conn.execute("SELECT clock_timestamp()").fetchone()
            assert moment is not None
            time.sleep(1.5)
            conn.execute("DROP TABLE orders")
        switched = setup.backup.barman(
            "switch-wal", "--archive", "--archive-timeout", "60", files.SERVER
        )
        assert switched.returncode == 0, switched.stdout + switched.stderr
        setup.backup.recover(moment[0].isoformat(), restored.data, "postgres", promote=True)

        # The update: both containers replaced, the restore where the server was.
        setup.backup.stop(keep=True)
        setup.cluster.server.halt()
        restored.port = setup.cluster.server.port
        restored.start(initialise=False)
        # Promoted, as `vos-infra backup restore` leaves a restore (it waits for that).
        deadline = time.monotonic() + 60
        while True:
            with setup.gateway(restored) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,):
                    break
            assert time.monotonic() < deadline, "the restore did not promote"
            time.sleep(0.5)
        # The role job, run again on the restore (its roles are the moment's).
        job = restored.run_job(setup.cluster.rendered["postgres-roles"])
        assert job.returncode == 0, job.stderr
        with setup.gateway(restored) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (300,)
            timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()
        assert timeline is not None and timeline[0] >= 2
        _followed(setup, RESTORED)
        # WAL of the new timeline arrives: a segment closed now is filed.
        filed = setup.backup.barman(
            "switch-wal", "--archive", "--archive-timeout", "60", files.SERVER
        )
        assert filed.returncode == 0, filed.stdout + filed.stderr

        # Going back (the setting removed): the server switched away from, on its own older
        # timeline, where the restore was; Barman refuses to reset a stream that is "ahead"
        # (the restore's timeline sorts after), so its partial segment is set aside.
        setup.backup.stop(keep=True)
        restored.halt()
        setup.cluster.server.start(initialise=False)
        _followed(setup, OWN)
        assert "set aside 00000002" in setup.backup.log()
        with setup.gateway() as conn:  # the own server as it was left: the drop
            assert conn.execute("SELECT to_regclass('orders')").fetchone() == (None,)
    finally:
        setup.backup.stop()
        restored.stop()
        setup.cluster.server.stop()
