"""A failing test's report is made even when garbage with a source-parsing finalizer is
collected meanwhile (tests/report_gc.py). Without the plugin, the same run ends pytest with
INTERNALERROR on CPython 3.11.7 (measured; python/cpython#106905)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAILING_WITH_GARBAGE = '''
import ast
import gc


class Parses:
    """Cyclic garbage whose finalizer parses on a deeper stack and leaves another behind."""

    def __init__(self):
        self.me = self

    def __del__(self):
        def deeper(k):
            return deeper(k - 1) if k else ast.parse("x = [[[1]]]")

        deeper(30)
        Parses()


def test_fails():
    gc.disable()
    Parses()
    gc.set_threshold(50, 1, 1)
    gc.enable()
    assert 1 == 2
'''


def test_a_failure_is_reported_while_finalizers_would_parse(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long module: the report's parse allocates enough to start collections.
    padding = "".join(
        f"\ndef f{i}(a, b):\n    return [a + b for _ in (a, b) if a]\n" for i in range(300)
    )
    pytester.makepyfile(test_garbage=FAILING_WITH_GARBAGE + padding)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    if sys.version_info[:2] == (3, 11):  # the bug is there: without the plugin, no report
        bare = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        assert bare.ret == pytest.ExitCode.INTERNAL_ERROR, bare.stdout.str()
    result = pytester.runpytest_subprocess("-p", "tests.report_gc", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])
    assert "INTERNALERROR" not in result.stdout.str()
