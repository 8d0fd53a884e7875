"""A pytest plugin (tests/conftest.py loads it): failure reports made with the cyclic garbage
collector held off.

CPython 3.11 keeps the AST builder's recursion depth in interpreter-wide state
(python/cpython#106905). When pytest parses a failing test's module to show its source, the
AST objects it allocates can start a garbage collection; a finalizer that parses Python on a
deeper stack (an asyncio task or generator dropped with an exception, formatting its
traceback: 3.11's traceback module parses each line for its carets) resets that depth under
the outer parse, which then raises `SystemError: AST constructor recursion depth mismatch`.
pytest stops at once with INTERNALERROR and no summary: the failure it was reporting is lost
(CI's tier run on 2026-12-03). Collecting the garbage first and holding the collector off
while the report is made leaves no finalizer to run inside the parse."""

from __future__ import annotations

import ast
import gc
from collections.abc import Generator

import pytest


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    if call.excinfo is None:  # a passing phase formats no source
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse` for tests that read modules themselves: the same bug strikes there when a
    collection runs a parsing finalizer mid-parse (seen: SystemError in test_registry's
    module scan after the unit tier), so the collector is held off while it parses."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename)
    finally:
        if collecting:
            gc.enable()
