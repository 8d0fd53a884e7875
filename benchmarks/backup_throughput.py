"""Benchmark: the backup service's base backup and restore of a generated database, beside
pg_basebackup to a local folder, and the time to recover N WAL segments.

Starts Debian's PostgreSQL 15 with the dev stack's rendered files and role job, the backup
service switched on (tests/integration/postgres_cluster.py), fills the gateway's schema with
about `--megabytes` of rows, then times, interleaved over `--repeat` rounds:
- floor: `pg_basebackup` as the backup role (its certificate, the replication connection
  the backup service uses) to a local folder, fast checkpoint, no WAL;
- backup: `barman backup --wait` with the rendered configuration (what the service's
  schedule runs);
- restore: `barman recover` of that backup into a new folder, then PostgreSQL started on it
  with the stack's files until it answers: what a restore costs before anyone can look;
- seal, open: that backup sealed as the service's copy round seals it (a tar, AES-256-GCM:
  images/postgres-backup/vos_seal.py), and opened again as a fetch does, file to file.
Then writes `--segments` WAL segments (16 MB each) after the newest backup, and times a
restore that replays them all (recover, start, ready), beside the restore without them.

Prints MB/s of each and the ratios to the floor. Asserts nothing. Needs root (the servers
run as `postgres` and `barman`) and Debian's barman.
`.venv/bin/python benchmarks/backup_throughput.py [--megabytes N] [--repeat N] [--segments N]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from components.docker.spec import TLS_DIR
from components.postgres_backup import files
from tests.backup_image import load_sibling
from tests.helpers import output, write_private
from tests.integration.backup_service import ACCOUNT, BackupService
from tests.integration.local_files import run_as, service_account
from tests.integration.postgres_cluster import PROFILE, Cluster
from tests.integration.postgres_server import PostgresServer
from tools.offline.stack_files import with_overrides

SEGMENT_MB = 16
seal = load_sibling("vos_seal")


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _fill(cluster: Cluster, megabytes: int) -> int:
    """Rows of ~1 kB in the gateway's schema until the database holds `megabytes` more."""
    with cluster.connect("api_gateway", cluster.password("api-gateway"), autocommit=True) as db:
        start = int(db.execute("SELECT pg_database_size('vos')").fetchone()[0])  # type: ignore[index]
        db.execute("CREATE TABLE IF NOT EXISTS filler (id bigserial, body text)")
        rows = megabytes * 1024
        for first in range(0, rows, 20000):
            count = min(20000, rows - first)
            db.execute(
                "INSERT INTO filler (body) SELECT repeat(md5(g::text), 32) "
                "FROM generate_series(1, %s) g",
                (count,),
            )
        end = int(db.execute("SELECT pg_database_size('vos')").fetchone()[0])  # type: ignore[index]
    return end - start


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--segments", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vos-bench-backup-"))
    cluster = Cluster(work, with_overrides(PROFILE, services={"postgresBackup": {"enabled": True}}))
    backup = BackupService(cluster.rendered["postgres-backup"], cluster.server.port)
    evaluation = cluster.evaluation
    cert = write_private(
        work, "b.crt", output(evaluation.named("pki-postgres-streaming-cert"), "certPem")
    )
    key = write_private(
        work, "b.key", output(evaluation.named("pki-postgres-streaming-key"), "privateKeyPem")
    )
    work.chmod(0o711)  # the barman account reads its identity and the CA from here
    for path in (cert, key, cluster.ca):
        os.chown(path, *service_account(ACCOUNT))
    try:
        added = _fill(cluster, args.megabytes)
        _archived(backup)
        conninfo = (
            files.conninfo(replication=True)
            .replace(
                "host=postgres port=5432",
                f"host=postgres hostaddr=127.0.0.1 port={cluster.server.port}",
            )
            .replace(f"{files.CLIENT_CERT}", cert)
            .replace(f"{files.CLIENT_KEY}", key)
            .replace(f"sslrootcert={TLS_DIR}/ca.crt", f"sslrootcert={cluster.ca}")
        )
        times: dict[str, list[float]] = {
            "floor": [], "backup": [], "restore": [], "seal": [], "open": [],
        }  # fmt: skip
        size = 0
        for round_ in range(args.repeat):
            target = Path(tempfile.mkdtemp(prefix="vos-bench-floor-"))
            os.chown(target, *service_account(ACCOUNT))
            floor = [*run_as(ACCOUNT), "pg_basebackup", "-d", conninfo,
                     "-D", str(target / "d"), "-X", "none", "-c", "fast"]  # fmt: skip
            times["floor"].append(_timed(partial(_run, floor)))
            size = _size(target / "d")
            shutil.rmtree(target)
            times["backup"].append(
                _timed(lambda: _ok(backup.barman("backup", "--wait", files.SERVER, timeout=3600)))
            )
            times["restore"].append(_restore(cluster, backup, None))
            sealed, opened = _sealing(backup, work)
            times["seal"].append(sealed)
            times["open"].append(opened)
            print(
                f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()),
                flush=True,
            )
        _report(times, size, added)
        _fill(cluster, args.segments * SEGMENT_MB)  # WAL after the newest backup
        _archived(backup)
        replay = _restore(cluster, backup, None)
        base = statistics.median(times["restore"])
        print(
            f"restore replaying ~{args.segments} WAL segments: {replay:.1f} s "
            f"(without them: {base:.1f} s; {(replay - base) / args.segments:.2f} s a segment)"
        )
    finally:
        backup.stop()
        cluster.server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _archived(backup: BackupService) -> None:
    """A segment switched and filed by Barman. Without the service's loop, `barman cron`
    runs here, each minute's work at once: it starts receive-wal (and makes the slot) and
    files what arrived; `switch-wal --archive` then waits for a segment to be filed."""
    deadline = time.monotonic() + 600
    while True:
        _ok(backup.barman("cron"))
        done = backup.barman("switch-wal", "--archive", "--archive-timeout", "30", files.SERVER)
        if done.returncode == 0:
            return
        assert time.monotonic() < deadline, done.stdout + done.stderr


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr


def _restore(cluster: Cluster, backup: BackupService, target_time: str | None) -> float:
    """recover the latest backup into a new data folder, start PostgreSQL on it, until ready."""
    restored = PostgresServer(cluster.rendered["postgres"])
    try:

        def run() -> None:
            backup.recover(target_time, restored.data, "postgres")
            restored.start(initialise=False)

        return _timed(run)
    finally:
        restored.stop()


def _sealing(backup: BackupService, work: Path) -> tuple[float, float]:
    """Seconds to seal the newest base backup as a copy round does, and to open it again."""
    newest = sorted((backup.home / files.SERVER / "base").iterdir())[-1]
    key = seal.Key(os.urandom(32).hex().encode())
    name = f"base/{newest.name}.bench.tar.sealed"
    sealed, opened = work / "copy.sealed", work / "copy.tar"
    seconds = _timed(lambda: seal.seal_path(newest, sealed, key, name))
    opening = _timed(lambda: seal.open_file(sealed, opened, seal.keyring([key]), name))
    sealed.unlink()
    opened.unlink()
    return seconds, opening


def _report(times: dict[str, list[float]], size: int, added: int) -> None:
    megabytes = size / 2**20
    print(f"database: {megabytes:.0f} MB on disk ({added / 2**20:.0f} MB generated)")
    floor = statistics.median(times["floor"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name}: median {median:.1f} s ({megabytes / median:.0f} MB/s), "
            f"min {min(values):.1f} s, max {max(values):.1f} s, {median / floor:.2f}x the floor"
        )


if __name__ == "__main__":
    main()
