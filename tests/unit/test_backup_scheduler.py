"""The backup image's main process (images/postgres-backup/vos_backup.py): when it calls
Barman. Driven here with a clock and a Barman that only records; with the real Barman and
PostgreSQL in tests/integration/test_postgres_backup.py."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.backup_image import load_scheduler, load_sibling

vos_backup = load_scheduler()
START = datetime.datetime(2026, 12, 4, 2, 58, tzinfo=datetime.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def sleep(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


class Recorded:
    """Barman as the loop sees it: backups succeed unless told otherwise."""

    def __init__(
        self, clock: Clock, has: bool, fails: int = 0, unanswered: int = 0, refusals: int = 0
    ) -> None:
        self.clock, self.fails, self.unanswered = clock, fails, unanswered
        self.refusals = refusals  # resets the server refuses (not up yet)
        self.done: list[dict[str, Any]] = (
            [_backup(START - datetime.timedelta(hours=20))] if has else []
        )
        self.calls: list[tuple[str, datetime.datetime]] = []

    def cron(self) -> None:
        self.calls.append(("cron", self.clock.now))

    def backups(self) -> list[dict[str, Any]] | None:
        if self.unanswered:  # Barman's listing failed (a lock, a crash)
            self.unanswered -= 1
            return None
        return list(self.done)

    def checks(self) -> dict[str, bool]:
        return {"receive_wal_running": True, "minimum_redundancy_requirements": bool(self.done)}

    def reset_stream(self) -> bool:
        self.calls.append(("reset", self.clock.now))
        if self.refusals:
            self.refusals -= 1
            return False
        return True

    def backup(self) -> bool:
        self.calls.append(("backup", self.clock.now))
        if self.fails:
            self.fails -= 1
            return False
        self.done.append(_backup(self.clock.now))
        return True


def _backup(end: datetime.datetime) -> dict[str, Any]:
    return {"status": "DONE", "end_time_timestamp": str(int(end.timestamp())), "size_bytes": 4096}


def _run(
    barman: Recorded,
    clock: Clock,
    rounds: int,
    schedule: str = "0 3 * * *",
    switchover: Any = None,
) -> Any:
    status = vos_backup.Status(schedule)
    vos_backup.serve(
        barman, status, now=lambda: clock.now, sleep=clock.sleep, rounds=rounds,
        switchover=switchover,
    )  # fmt: skip
    return status


def _calls(barman: Recorded, *kinds: str) -> list[str]:
    return [f"{what} {at:%H:%M}" for what, at in barman.calls if what in kinds]


def _backups(barman: Recorded) -> list[str]:
    return [at.strftime("%H:%M") for what, at in barman.calls if what == "backup"]


def _metric(status: Any, name: str, **labels: str) -> float | None:
    value = status.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_a_server_with_backups_waits_for_the_schedule_and_cron_runs_every_minute() -> None:
    clock = Clock()
    barman = Recorded(clock, has=True)
    _run(barman, clock, rounds=5)  # 02:58 .. 03:02
    assert _backups(barman) == ["03:00"]
    crons = [at.strftime("%H:%M") for what, at in barman.calls if what == "cron"]
    assert crons == ["02:58", "02:59", "03:00", "03:01", "03:02"]


def test_a_server_without_a_backup_gets_one_at_once() -> None:
    clock = Clock()
    barman = Recorded(clock, has=False)
    _run(barman, clock, rounds=3)
    assert _backups(barman) == ["02:58", "03:00"]


def test_a_listing_that_fails_starts_no_backup_and_keeps_the_last_figures() -> None:
    clock = Clock()
    barman = Recorded(clock, has=True, unanswered=0)
    status = _run(barman, clock, rounds=1)  # 02:58: figures of the backup it has
    barman.unanswered = 6  # every listing of the next round (loop, then observe)
    vos_backup.serve(barman, status, now=lambda: clock.now, sleep=clock.sleep, rounds=1)
    assert _backups(barman) == []
    assert _metric(status, "vos_backup_base_backups") == 1
    assert _metric(status, "vos_backup_last_base_backup_size_bytes") == 4096


def test_a_failed_first_backup_is_tried_again_each_minute_until_one_exists() -> None:
    clock = Clock()
    barman = Recorded(clock, has=False, fails=2)
    status = _run(barman, clock, rounds=2)
    assert _backups(barman) == ["02:58", "02:59"]
    # What the alerts read: no backup yet, two failures, a check failing.
    assert _metric(status, "vos_backup_base_backups") == 0
    assert _metric(status, "vos_backup_last_base_backup_end_timestamp_seconds") == 0
    assert _metric(status, "vos_backup_base_backup_failures_total") == 2
    assert _metric(status, "vos_backup_check_ok", check="minimum_redundancy_requirements") == 0
    vos_backup.serve(barman, status, now=lambda: clock.now, sleep=clock.sleep, rounds=2)
    assert _backups(barman) == ["02:58", "02:59", "03:00"]  # the third succeeded
    assert _metric(status, "vos_backup_base_backups") == 1
    ended = datetime.datetime(2026, 12, 4, 3, 0, tzinfo=datetime.UTC).timestamp()
    assert _metric(status, "vos_backup_last_base_backup_end_timestamp_seconds") == ended
    assert _metric(status, "vos_backup_last_base_backup_size_bytes") == 4096
    assert _metric(status, "vos_backup_check_ok", check="minimum_redundancy_requirements") == 1
    assert _metric(status, "vos_backup_base_backup_failures_total") == 2


@pytest.mark.parametrize(
    ("schedule", "period"),
    [("0 3 * * *", 86400), ("*/30 * * * *", 1800), ("0 4 * * 0", 7 * 86400)],
)
def test_the_schedule_s_period_is_how_old_a_backup_may_get(schedule: str, period: int) -> None:
    clock = Clock()
    status = _run(Recorded(clock, has=True), clock, rounds=1, schedule=schedule)
    assert _metric(status, "vos_backup_schedule_period_seconds") == period


def test_the_schedule_is_read_in_utc() -> None:
    after = datetime.datetime(2026, 12, 4, 3, 0, tzinfo=datetime.UTC)
    assert vos_backup.next_backup("0 3 * * *", after) == after + datetime.timedelta(days=1)
    assert vos_backup.next_backup("*/15 * * * *", after).minute == 15


def test_a_bad_schedule_stops_it_before_it_runs() -> None:
    with pytest.raises(SystemExit):
        vos_backup.main(["--config", "/x", "--server", "vos", "--schedule", "every day"])


OWN = "vos-s-postgres-data"
RESTORED = "vos-s-postgres-restore-20261204T102900Z"


def _switchover(record: Any, volume: str) -> Any:
    return load_sibling("vos_switchover").Switchover(record, volume, OWN)


def test_a_first_start_on_its_own_volume_is_no_switch_over(tmp_path: Any) -> None:
    record = tmp_path / "vos-server-volume"
    clock = Clock()
    barman = Recorded(clock, has=True)
    _run(barman, clock, rounds=2, switchover=_switchover(record, OWN))
    assert record.read_text() == f"{OWN}\n"
    assert _calls(barman, "reset", "backup") == []


def test_a_first_start_on_a_restore_is_a_switch_over(tmp_path: Any) -> None:
    """One update that brings this version and sets the restore: Barman's home holds the old
    timeline's stream with no record of it."""
    record = tmp_path / "vos-server-volume"
    clock = Clock()
    barman = Recorded(clock, has=True)
    _run(barman, clock, rounds=1, schedule="0 12 * * *", switchover=_switchover(record, RESTORED))
    assert _calls(barman, "reset", "backup") == ["reset 02:58", "backup 02:58"]
    assert record.read_text() == f"{RESTORED}\n"


def test_a_switch_over_resets_the_stream_then_backs_up_until_one_succeeds(tmp_path: Any) -> None:
    record = tmp_path / "vos-server-volume"
    record.write_text(f"{OWN}\n")
    clock = Clock()
    # The new server refuses the first reset (not up yet); the first backup fails.
    barman = Recorded(clock, has=True, refusals=1, fails=1)
    switchover = _switchover(record, RESTORED)
    _run(barman, clock, rounds=2, schedule="0 12 * * *", switchover=switchover)
    # The reset comes before the round's cron, the backup after it; the schedule's next
    # backup is hours away.
    assert _calls(barman, "reset", "backup", "cron") == [
        "reset 02:58", "cron 02:58", "reset 02:59", "cron 02:59", "backup 02:59",
    ]  # fmt: skip
    # Not done while no backup of the new timeline exists: a restart now resets again.
    assert record.read_text() == f"{OWN}\n"
    restarted = Recorded(clock, has=True)
    _run(restarted, clock, rounds=2, schedule="0 12 * * *", switchover=switchover)
    assert _calls(restarted, "reset", "backup") == ["reset 03:00", "backup 03:00"]
    assert record.read_text() == f"{RESTORED}\n"
    # A restart on the same volume is no switch-over.
    again = Recorded(clock, has=True)
    _run(again, clock, rounds=2, schedule="0 12 * * *", switchover=_switchover(record, RESTORED))
    assert _calls(again, "reset", "backup") == []
