"""The reference apps' readiness checks of their dependencies run in the background: a
dependency that hangs cannot hang /readyz (nor the healthcheck that calls it), and no caller
makes the app check again and again."""

from __future__ import annotations

import threading
import time

import pytest

from vos_reference.readiness import Background


def _until(check: Background, seconds: float = 3) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_hanging_check_answers_at_once_and_runs_once() -> None:
    release, calls = threading.Event(), []

    def hangs() -> bool:
        calls.append(1)
        return release.wait(10)

    check = Background(hangs)
    started = time.monotonic()
    assert [check() for _ in range(20)] == [False] * 20
    assert time.monotonic() - started < 0.5
    release.set()
    assert _until(check)
    assert len(calls) == 1  # twenty questions, one check


def test_a_failing_check_is_asked_again_only_after_its_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Background, "FAILING_INTERVAL_S", 0.3)
    calls = []

    def fails() -> bool:
        calls.append(1)
        raise OSError("no route")

    check = Background(fails)
    for _ in range(10):
        assert check() is False
    time.sleep(0.1)
    assert len(calls) == 1
    time.sleep(0.4)
    check()
    time.sleep(0.1)
    assert len(calls) == 2


def test_a_check_that_passed_and_then_hangs_is_not_ready_past_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Background, "OK_INTERVAL_S", 0.0)
    monkeypatch.setattr(Background, "DEADLINE_S", 0.3)
    release, answers = threading.Event(), iter([True])

    def passes_then_hangs() -> bool:
        if next(answers, None):
            return True
        return release.wait(10)

    check = Background(passes_then_hangs)
    assert _until(check)  # the first check passed
    assert check() is True  # the second started; the last answer stands for now
    time.sleep(0.4)
    assert check() is False  # still running past its deadline
    release.set()
