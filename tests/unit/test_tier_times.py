"""Each tier's time is printed at the end of a run (tests/tier_times.py), summed over its
tests' setup, call and teardown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tier_times import tier

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("where", "expected"),
    [("docker/", "docker"), ("integration/", "integration"), ("", "tests")],
)
def test_a_test_belongs_to_the_folder_under_tests(where: str, expected: str) -> None:
    # Node ids as pytest makes them (put together here: they name no real file).
    assert tier(f"tests/{where}test_m.py::test_x") == expected
    assert tier(f"tests/{where}test_m.py::test_x[a/b]") == expected


def test_the_summary_names_each_tier_with_its_seconds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = "import time\n\ndef test_slow():\n    time.sleep(1.2)\n"
    for folder, source in (("fast", "def test_a():\n    pass\n"), ("slow", slow)):
        pytester.makepyfile(**{"/".join(("tests", folder, f"test_{folder}")): source})
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "tests.tier_times", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    line = next(x for x in result.outlines if x.startswith("tier times: "))
    assert line.startswith("tier times: slow 1 s, fast 0 s; all 1 s"), line  # longest first
