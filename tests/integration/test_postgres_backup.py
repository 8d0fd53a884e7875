"""The backup service as rendered, on real software: Debian's PostgreSQL 15 with the rendered
files and role job, Debian's Barman with the rendered configuration, the image's entrypoint
(images/postgres-backup/vos_backup.py) with the rendered arguments. A point-in-time restore
gives back exactly what was committed before the target."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
import urllib3
from prometheus_client.parser import text_string_to_metric_families

from components.postgres.roles import BACKUP_ROLE, BACKUP_SLOT
from components.postgres_backup import files
from tests.alert_rules import alert_rules
from tests.helpers import output, write_private
from tests.integration.backup_service import ACCOUNT
from tests.integration.backup_setup import Setup
from tests.integration.local_files import run_as
from tests.integration.moto_s3 import CREDENTIALS, moto_server
from tests.integration.postgres_server import PostgresServer
from tests.promql import metric_names


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    made = Setup(tmp_path_factory.mktemp("pg-backup"))
    try:
        made.backup.start()
        made.backup.wait_for_backup()
        yield made
    finally:
        made.backup.stop()
        made.cluster.server.stop()


def test_the_first_round_takes_a_base_backup_streaming_over_the_certificate(
    setup: Setup,
) -> None:
    (done,) = setup.backup.backups()
    assert done["status"] == "DONE"
    with setup.gateway() as conn:
        conn.execute("SELECT 1")
    # The slot the rendered configuration names, read by pg_receivewal as the backup role,
    # over TLS: what keeps every WAL record until Barman has it.
    admin = setup.cluster.connect("vos_backup", None, **setup.identity(), autocommit=True)
    with admin:
        streaming = admin.execute(
            "SELECT r.usename, s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid"
        ).fetchall()
        slot = admin.execute(
            "SELECT slot_type, active FROM pg_replication_slots WHERE slot_name = %s",
            (BACKUP_SLOT,),
        ).fetchone()
    assert (BACKUP_ROLE, True) in streaming
    assert slot == ("physical", True)


def _scrape(setup: Setup, identity: str | None) -> dict[str, float]:
    """/metrics of the running entrypoint, verified as `postgres-backup` against the platform
    CA, with the named client certificate (or none)."""
    evaluation, tmp = setup.cluster.evaluation, setup.tmp
    client = {}
    if identity:
        client = {
            "cert_file": write_private(
                tmp, f"{identity}.crt", output(evaluation.named(f"pki-{identity}-cert"), "certPem")
            ),
            "key_file": write_private(
                tmp,
                f"{identity}.key",
                output(evaluation.named(f"pki-{identity}-key"), "privateKeyPem"),
            ),
        }
    pool = urllib3.PoolManager(
        ca_certs=setup.cluster.ca, server_hostname="postgres-backup", retries=False, **client
    )
    answer = pool.request(
        "GET", f"https://127.0.0.1:{setup.backup.metrics_port}/metrics", timeout=10
    )
    assert answer.status == 200
    return {
        sample.name
        + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.data.decode())
        for sample in family.samples
    }


def test_its_metrics_say_what_barman_did_and_only_the_scrape_identity_reads_them(
    setup: Setup,
) -> None:
    deadline = time.monotonic() + 90  # the round that took the backup ends, then reports
    while (
        (seen := _scrape(setup, "prometheus-scraper"))["vos_backup_base_backups"] < 1
        or seen["vos_backup_round_end_timestamp_seconds"] == 0  # set last in a round
    ):
        assert time.monotonic() < deadline, seen
        time.sleep(1)
    (done,) = setup.backup.backups()
    assert seen["vos_backup_last_base_backup_end_timestamp_seconds"] == int(
        done["end_time_timestamp"]
    )
    assert seen["vos_backup_last_base_backup_size_bytes"] == done["size_bytes"] > 0
    assert seen["vos_backup_schedule_period_seconds"] == 86400  # 0 3 * * *
    assert seen["vos_backup_check_ok{check=receive_wal_running}"] == 1
    assert seen["vos_backup_check_ok{check=replication_slot}"] == 1
    assert seen["vos_backup_base_backup_failures_total"] == 0
    # The filesystem Barman's home is on, as `df` sees it (free space moves as it writes).
    usage = shutil.disk_usage(setup.backup.home)
    assert seen["vos_backup_filesystem_size_bytes"] == usage.total
    assert abs(seen["vos_backup_filesystem_avail_bytes"] - usage.free) < 0.02 * usage.total
    # Every name the backup alerts read is one the endpoint serves.
    read = {
        name
        for rule in alert_rules().values()
        for name in metric_names(rule["expr"])
        if name.startswith("vos_backup_")
    }
    served = {key.split("{")[0] for key in seen}
    assert read and read <= served, read - served
    # No certificate, or a real identity of the platform CA that is not the scraper's.
    for identity in (None, "postgres-streaming"):
        with pytest.raises(urllib3.exceptions.HTTPError):
            _scrape(setup, identity)


def test_the_backup_role_logs_in_only_with_its_certificate_and_reads_no_data(
    setup: Setup,
) -> None:
    with pytest.raises(psycopg.OperationalError):
        setup.cluster.connect("vos_backup", "guess", connect_timeout=5)
    with setup.gateway() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS secrets (v text)")
    with setup.cluster.connect("vos_backup", None, **setup.identity(), autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM api_gateway.secrets")


def test_the_healthcheck_passes_while_it_streams_and_fails_when_it_does_not(
    setup: Setup,
) -> None:
    check = [*run_as(ACCOUNT), *setup.backup.command(*setup.backup.container.healthcheck)]
    assert subprocess.run(check, capture_output=True, timeout=120).returncode == 0
    stopped = setup.backup.barman("receive-wal", "--stop", files.SERVER)
    assert stopped.returncode == 0, stopped.stderr
    failing = subprocess.run(check, capture_output=True, text=True, timeout=120)
    assert failing.returncode != 0
    assert "receive-wal running" in failing.stdout + failing.stderr
    # The entrypoint's next `barman cron` (every minute) starts it again; here at once.
    assert setup.backup.barman("cron").returncode == 0
    deadline = time.monotonic() + 60
    while subprocess.run(check, capture_output=True, timeout=120).returncode != 0:
        assert time.monotonic() < deadline, "receive-wal did not come back"
        time.sleep(1)


def test_a_restore_to_a_point_in_time_gives_back_exactly_what_was_committed_before_it(
    setup: Setup,
) -> None:
    with setup.gateway() as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO orders SELECT i, 'before' FROM generate_series(1, 1000) i")
        target = conn.execute("SELECT clock_timestamp()").fetchone()
        assert target is not None
        time.sleep(1.5)
        conn.execute("INSERT INTO orders VALUES (1001, 'after the target')")
        conn.execute("DROP TABLE orders")
    # Close the segment that holds the drop, and wait until Barman has filed it.
    switched = setup.backup.barman(
        "switch-wal", "--archive", "--archive-timeout", "60", files.SERVER
    )
    assert switched.returncode == 0, switched.stdout + switched.stderr

    restored = PostgresServer(setup.cluster.rendered["postgres"])
    try:
        setup.backup.recover(target[0].isoformat(), restored.data, "postgres")
        restored.start(initialise=False)
        _paused_at_the_target(setup, restored)
        with setup.gateway(restored) as conn:
            rows = conn.execute("SELECT count(*), min(id), max(id) FROM orders").fetchone()
            notes = conn.execute("SELECT DISTINCT note FROM orders").fetchall()
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert rows == (1000, 1, 1000)
        assert notes == [("before",)]
        assert in_recovery == (True,)  # paused at the target, for a look before promoting
    finally:
        restored.stop()
    # The live server still has the drop: a restore never touched it.
    with setup.gateway() as conn, pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT 1 FROM orders")


# --- off-host copies (backup.postgres.offsite; images/postgres-backup/vos_offsite.py) -------

MARKER = "sealed-ledger-row"


def _store_names(setup: Setup) -> set[str]:
    store = setup.backup.store
    return {p.relative_to(store).as_posix() for p in store.rglob("*.sealed")}


def _paused_at_the_target(setup: Setup, restored: PostgresServer) -> None:
    """A hot standby takes connections once it is consistent, while it still replays: wait
    until replay has reached the target and paused there (a query before may miss what the
    target includes: seen once under load)."""
    deadline = time.monotonic() + 120
    while True:
        with setup.gateway(restored) as conn:
            state = conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
        if state == ("paused",):
            return
        assert time.monotonic() < deadline, f"replay not paused at the target: {state}"
        time.sleep(0.5)


def _filed(setup: Setup, segment: str) -> None:
    """Closes the segment and waits until Barman has filed it under wals/ (what a round
    copies). `switch-wal --archive` waits for a segment to be filed, not for this one."""
    switched = setup.backup.barman("switch-wal", files.SERVER)
    assert switched.returncode == 0, switched.stdout + switched.stderr
    filed = setup.backup.home / files.SERVER / "wals" / segment[:16] / segment
    deadline = time.monotonic() + 60
    while not filed.exists():
        assert time.monotonic() < deadline, f"{segment} not filed: {setup.backup.log()[-2000:]}"
        setup.backup.barman("archive-wal", files.SERVER)
        time.sleep(1)


def _bucket(url: str) -> Any:
    client = boto3.client(
        "s3", endpoint_url=url, region_name="eu-central-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    client.create_bucket(
        Bucket="vos-backups", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    return client


def test_sealed_copies_leave_the_volume_and_a_new_host_restores_from_them_with_the_key(
    setup: Setup,
) -> None:
    # The entrypoint's own rounds copy into the dev store (the copies' volume) as they go.
    deadline = time.monotonic() + 90
    while not any(n.startswith("base/") for n in _store_names(setup)):
        assert time.monotonic() < deadline, setup.backup.log()[-3000:]
        time.sleep(1)
    with setup.gateway() as conn:
        conn.execute("CREATE TABLE ledger (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO ledger SELECT i, %s FROM generate_series(1, 500) i", (MARKER,))
        target = conn.execute("SELECT clock_timestamp()").fetchone()
        assert target is not None
        time.sleep(1.5)
        conn.execute("INSERT INTO ledger VALUES (501, 'after the target')")
        conn.execute("DROP TABLE ledger")
        last = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
    assert last is not None
    _filed(setup, last[0])

    rendered = setup.backup.command(*setup.backup.container.command)
    key = rendered[rendered.index("--offsite-key") + 1]
    server = str(setup.backup.home / files.SERVER)
    with moto_server() as url:
        s3 = _bucket(url)
        bucket = ["--s3-bucket", "vos-backups", "--s3-endpoint", url, "--s3-region", "eu-central-1"]
        # `push` (what each round runs, and what an operator runs for a copy now) to S3.
        pushed = setup.backup.offsite(
            "push", "--key", key, *bucket, "--server-dir", server,
            "--scratch", str(setup.backup.home / "push-scratch"), env=CREDENTIALS,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        listed = s3.list_objects_v2(Bucket="vos-backups", Prefix="postgres/")["Contents"]
        names = {item["Key"].removeprefix("postgres/") for item in listed}
        assert any(n.startswith("base/") for n in names) and any(
            n.startswith("wals/") for n in names
        )
        # What S3 holds is ciphertext: no row, no file name of the data directory.
        for item in listed:
            body = s3.get_object(Bucket="vos-backups", Key=item["Key"])["Body"].read()
            assert MARKER.encode() not in body and b"PG_VERSION" not in body, item["Key"]

        # A new host: an empty Barman home, the copies fetched from S3 and opened.
        home = setup.backup.root / "new-host"
        config = setup.backup.home_at(home)

        def fetch(key_file: str) -> subprocess.CompletedProcess[str]:
            return setup.backup.offsite(
                "fetch", "--keys", key_file, *bucket, "--server-dir", str(home / files.SERVER),
                "--scratch", str(home / "fetch-scratch"), env=CREDENTIALS,
            )  # fmt: skip

        wrong = setup.backup.root / "wrong.key"
        wrong.write_text("w" * 64)
        subprocess.run(["chown", ACCOUNT, str(wrong)], check=True)
        refused = fetch(str(wrong))
        assert refused.returncode != 0 and "none of the keys" in refused.stderr, refused.stderr
        assert not (home / files.SERVER).exists()  # refused before anything was laid out
        fetched = fetch(key)
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    # The newest base backup that ended before the target is what the target restores from.
    before = [b for b in setup.backup.backups() if b["status"] == "DONE" and
              float(b["end_time_timestamp"]) < target[0].timestamp()]  # fmt: skip
    assert before, setup.backup.log()[-3000:]
    assert before[-1]["backup_id"] in fetched.stdout.split(), fetched.stdout
    indexed = setup.backup.barman("rebuild-xlogdb", files.SERVER, config=config)
    assert indexed.returncode == 0, indexed.stdout + indexed.stderr

    restored = PostgresServer(setup.cluster.rendered["postgres"])
    try:
        setup.backup.recover(
            target[0].isoformat(), restored.data, "postgres", config, before[-1]["backup_id"]
        )
        restored.start(initialise=False)
        _paused_at_the_target(setup, restored)
        with setup.gateway(restored) as conn:
            rows = conn.execute("SELECT count(*), min(id), max(id) FROM ledger").fetchone()
            notes = conn.execute("SELECT DISTINCT note FROM ledger").fetchall()
        assert rows == (500, 1, 500)
        assert notes == [(MARKER,)]
    finally:
        restored.stop()
