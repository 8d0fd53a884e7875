"""The backup image's main process (images/postgres-backup/vos_backup.py): when it calls
Barman. Driven here with a clock and a Barman that only records; with the real Barman and
PostgreSQL in tests/integration/test_postgres_backup.py."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "images" / "postgres-backup" / "vos_backup.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vos_backup", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vos_backup = _load()
START = datetime.datetime(2026, 12, 4, 2, 58, tzinfo=datetime.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def sleep(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


class Recorded:
    """Barman as the loop sees it: backups succeed unless told otherwise."""

    def __init__(self, clock: Clock, has: bool, fails: int = 0) -> None:
        self.clock, self.has, self.fails = clock, has, fails
        self.calls: list[tuple[str, datetime.datetime]] = []

    def cron(self) -> None:
        self.calls.append(("cron", self.clock.now))

    def has_backup(self) -> bool:
        return self.has

    def backup(self) -> bool:
        self.calls.append(("backup", self.clock.now))
        if self.fails:
            self.fails -= 1
            return False
        self.has = True
        return True


def _run(barman: Recorded, clock: Clock, rounds: int, schedule: str = "0 3 * * *") -> None:
    vos_backup.serve(barman, schedule, now=lambda: clock.now, sleep=clock.sleep, rounds=rounds)


def _backups(barman: Recorded) -> list[str]:
    return [at.strftime("%H:%M") for what, at in barman.calls if what == "backup"]


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


def test_a_failed_first_backup_is_tried_again_each_minute_until_one_exists() -> None:
    clock = Clock()
    barman = Recorded(clock, has=False, fails=2)
    _run(barman, clock, rounds=4)
    assert _backups(barman) == ["02:58", "02:59", "03:00"]  # the third succeeded
    assert barman.has


def test_the_schedule_is_read_in_utc() -> None:
    after = datetime.datetime(2026, 12, 4, 3, 0, tzinfo=datetime.UTC)
    assert vos_backup.next_backup("0 3 * * *", after) == after + datetime.timedelta(days=1)
    assert vos_backup.next_backup("*/15 * * * *", after).minute == 15


def test_a_bad_schedule_stops_it_before_it_runs() -> None:
    with pytest.raises(SystemExit):
        vos_backup.main(["--config", "/x", "--server", "vos", "--schedule", "every day"])
