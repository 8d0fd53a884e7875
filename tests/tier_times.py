"""A pytest plugin (tests/conftest.py loads it): the wall time each test tier took (the
folder under tests/: docker, integration, program, policy, unit, ...), printed at the end,
so a run's time budget shows where it went."""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

import pytest

SPENT: defaultdict[str, float] = defaultdict(float)


def tier(nodeid: str) -> str:
    """`tests/<tier>/...` -> `<tier>`; a module directly under tests/ -> `tests`."""
    parts = PurePosixPath(nodeid.split("::", 1)[0]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "tests"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # setup, call and teardown each: a module fixture's start counts to its first test.
    SPENT[tier(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SPENT:
        return
    spent = sorted(SPENT.items(), key=lambda item: -item[1])
    total = sum(SPENT.values())
    terminalreporter.write_line(
        "tier times: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in spent)
        + f"; all {total:.0f} s"
    )
