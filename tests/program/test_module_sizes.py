"""Modules stay small enough to read in one sitting: a module that outgrows the limit is
split by concern (as the Docker tier and the settings rules were), not stretched."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
FOLDERS = (
    "stacks",
    "components",
    "infra",
    "tools",
    "policies",
    "tests",
    "benchmarks",
    "images",
    "apps",
)
"""The project's own code (not the virtualenv, the state or build output)."""


def test_no_python_module_of_the_project_outgrows_the_limit() -> None:
    modules = [path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")]
    assert len(modules) > 100, modules
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if (lines := len(path.read_text().splitlines())) > LIMIT
    }
    assert not long, f"split these by concern (over {LIMIT} lines): {long}"
