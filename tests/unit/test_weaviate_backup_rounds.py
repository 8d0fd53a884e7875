"""Weaviate's backups in the backup service's loop (images/postgres-backup/vos_weaviate_api.py,
vos_weaviate.py,
vos_backup.py weaviate_round): when a backup is asked for, how it is followed, what is kept,
and what the metrics say. Driven with a clock and a Weaviate that answers from a script;
against the Weaviate stand-in, with real files and the sealing, in
tests/integration/test_weaviate_backups.py."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tests.backup_image import load_scheduler, load_sibling

vos_backup = load_scheduler()
vos_weaviate = load_sibling("vos_weaviate")
weaviate_api = load_sibling("vos_weaviate_api")
START = datetime.datetime(2026, 12, 5, 2, 58, tzinfo=datetime.UTC)
SCHEDULE = "30 3 * * *"
MINUTE = datetime.timedelta(minutes=1)


class Scripted:
    """Weaviate's API as the rounds see it: the statuses a backup goes through, in order."""

    def __init__(self, folder: Path, statuses: list[str], collections: int = 1) -> None:
        self.folder, self.statuses, self.collections_ = folder, list(statuses), collections
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.unreachable = False

    def collections(self) -> list[str]:
        if self.unreachable:
            raise weaviate_api.WeaviateError("GET /v1/schema: connection refused")
        return [f"AgentTasks{i}" for i in range(self.collections_)]

    def start(self, name: str) -> str:
        self.started.append(name)
        return "STARTED"

    def cancel(self, name: str) -> None:
        self.cancelled.append(name)

    def status(self, name: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status == "SUCCESS":
            _finished(self.folder, name, 1234)
        return {"id": name, "status": status}


def _finished(folder: Path, name: str, size: int = 10) -> None:
    (folder / name / "node1").mkdir(parents=True, exist_ok=True)
    (folder / name / "node1" / "chunk").write_bytes(b"x" * size)
    (folder / name / weaviate_api.DESCRIPTOR).write_text(json.dumps({"status": "SUCCESS"}))


def _backups(api: Scripted, folder: Path, now: datetime.datetime = START) -> Any:
    return weaviate_api.WeaviateBackups(
        api, folder, lambda after: vos_backup.next_backup(SCHEDULE, after), now
    )


def test_a_volume_without_a_finished_backup_gets_one_at_the_first_round(tmp_path: Path) -> None:
    api = Scripted(tmp_path, ["STARTED", "TRANSFERRING", "SUCCESS"])
    backups = _backups(api, tmp_path)
    first = backups.round(START)
    assert api.started == ["vos-20261205t025800"] and first.done is None and not first.failed
    assert backups.round(START + MINUTE).done is None  # still transferring
    done = backups.round(START + 2 * MINUTE)
    assert done.done == "vos-20261205t025800" and done.size_bytes >= 1234
    assert backups.running is None
    assert backups.due == datetime.datetime(2026, 12, 5, 3, 30, tzinfo=datetime.UTC)
    # then the schedule: nothing until its next slot
    assert backups.round(START + 3 * MINUTE - datetime.timedelta(seconds=1)).done is None
    assert len(api.started) == 1


def test_a_volume_with_a_finished_backup_waits_for_the_schedule(tmp_path: Path) -> None:
    _finished(tmp_path, "vos-20261204t033000")
    api = Scripted(tmp_path, ["SUCCESS"])
    backups = _backups(api, tmp_path)
    assert backups.round(START).done is None and api.started == []
    slot = datetime.datetime(2026, 12, 5, 3, 30, tzinfo=datetime.UTC)
    assert backups.round(slot).done == "vos-20261205t033000"


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_a_backup_weaviate_gave_up_is_a_failure_and_the_next_waits_for_its_slot(
    tmp_path: Path, status: str
) -> None:
    api = Scripted(tmp_path, ["STARTED", status])
    backups = _backups(api, tmp_path)
    backups.round(START)
    failed = backups.round(START + MINUTE)
    assert failed.failed and status in failed.failed and failed.done is None
    assert backups.running is None and backups.due > START + MINUTE


def test_a_backup_running_past_its_bound_is_given_up(tmp_path: Path) -> None:
    api = Scripted(tmp_path, ["STARTED"])
    backups = _backups(api, tmp_path)
    backups.round(START)
    late = START + datetime.timedelta(seconds=weaviate_api.RUNNING_FOR_AT_MOST_S + 60)
    assert backups.round(late).failed
    # Weaviate is told to stop it: it neither goes on writing nor refuses the next one.
    assert api.cancelled == api.started == ["vos-20261205t025800"]


def test_weaviate_away_is_a_failure_that_names_it(tmp_path: Path) -> None:
    api = Scripted(tmp_path, ["SUCCESS"])
    api.unreachable = True
    outcome = _backups(api, tmp_path).round(START)
    assert outcome.failed and "connection refused" in outcome.failed and api.started == []


def test_nothing_to_back_up_is_said_and_asked_again_next_round(tmp_path: Path) -> None:
    api = Scripted(tmp_path, ["SUCCESS"], collections=0)
    backups = _backups(api, tmp_path)
    outcome = backups.round(START)
    assert outcome.empty and not outcome.failed and api.started == []
    api.collections_ = 1  # an agent stored its first memory
    assert backups.round(START + MINUTE).done == "vos-20261205t025900"


def test_the_window_keeps_what_is_inside_it_and_the_newest_before_it() -> None:
    names = [f"vos-202612{day:02d}t033000" for day in range(1, 6)]
    now = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
    two_days = datetime.timedelta(days=2)
    # inside: the 4th and 5th; before: 1st..3rd, of which the 3rd is kept
    assert vos_weaviate.expired(names, two_days, now) == set(names[:2])
    assert vos_weaviate.expired(names[:1], two_days, now) == set()


def test_unfinished_folders_go_once_given_up_or_long_after_any_backup_could_run(
    tmp_path: Path,
) -> None:
    now = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
    _finished(tmp_path, "vos-20261205t033000")
    (tmp_path / "vos-20261205t110000").mkdir()  # running now
    (tmp_path / "vos-20261205t030000").mkdir()  # 9 h old, says nothing: may still be written
    (tmp_path / "vos-20261204t033000").mkdir()  # a killed one, over a day old
    cancelled = tmp_path / "vos-20261205t100000"
    cancelled.mkdir()
    (cancelled / weaviate_api.DESCRIPTOR).write_text(json.dumps({"status": "CANCELED"}))
    removed = vos_weaviate.prune(tmp_path, None, datetime.timedelta(days=7), now)
    assert removed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vos-20261205t030000",
        "vos-20261205t033000",
        "vos-20261205t110000",
    ]


class _AwayStore:
    """A store that cannot be reached."""

    def names(self) -> set[str]:
        raise OSError("the bucket is away")


def test_a_store_away_keeps_the_round_s_outcome_and_prunes_nothing(tmp_path: Path) -> None:
    now = datetime.datetime(2026, 12, 20, 3, 0, tzinfo=datetime.UTC)
    _finished(tmp_path, "vos-20261201t033000")  # past the window: not copied, so kept
    api = Scripted(tmp_path, ["SUCCESS"])
    backups = _backups(api, tmp_path, now)
    backups.due = now  # the slot has come
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    keeper = vos_weaviate.Keeper(backups, 7, _AwayStore(), str(key), tmp_path / "scratch")
    report = keeper.round(now)
    assert report.done == "vos-20261220t030000" and "the bucket is away" in str(report.copy_error)
    assert (tmp_path / "vos-20261201t033000").is_dir() and report.kept == 2


class Keeper:
    def __init__(self, report: Any = None, error: Exception | None = None) -> None:
        self.report, self.error = report, error
        self.backups = _backups(Scripted(Path("/nonexistent"), ["SUCCESS"]), Path("/nonexistent"))

    def round(self, now: datetime.datetime) -> Any:
        if self.error:
            raise self.error
        return self.report


def _value(status: Any, name: str) -> float:
    return float(status.registry.get_sample_value(name) or 0.0)


def test_the_metrics_say_when_the_last_backup_finished_and_count_the_failures() -> None:
    status = vos_backup.Status("0 3 * * *")
    vos_backup.weaviate_round(Keeper(vos_weaviate.Report(done="vos-x", size_bytes=42, kept=3)),
                              status, START)  # fmt: skip
    assert _value(status, "vos_backup_weaviate_last_success_timestamp_seconds") == START.timestamp()
    assert _value(status, "vos_backup_weaviate_last_size_bytes") == 42
    assert _value(status, "vos_backup_weaviate_backups") == 3
    assert _value(status, "vos_backup_weaviate_schedule_period_seconds") == 86400
    later = START + datetime.timedelta(days=1)
    vos_backup.weaviate_round(Keeper(vos_weaviate.Report(failed="vos-y: FAILED")), status, later)
    vos_backup.weaviate_round(Keeper(error=OSError("store away")), status, later)
    assert _value(status, "vos_backup_weaviate_failures_total") == 2
    # a failure leaves the time of the last success as it was: the age alert reads it
    assert _value(status, "vos_backup_weaviate_last_success_timestamp_seconds") == START.timestamp()


def test_after_a_restart_the_newest_backup_in_the_volume_is_the_last_one() -> None:
    status = vos_backup.Status("0 3 * * *")
    report = vos_weaviate.Report(kept=2, newest_at=1000.0, newest_bytes=7)
    vos_backup.weaviate_round(Keeper(report), status, START)
    assert _value(status, "vos_backup_weaviate_last_success_timestamp_seconds") == 1000.0
    assert _value(status, "vos_backup_weaviate_last_size_bytes") == 7
