"""The pull-request workflow: actionlint (with shellcheck for `run:` scripts) finds
nothing, and it runs the tests, `vos-infra check` and `pulumi preview --policy-pack` per
stack with the official Pulumi action commenting on the pull request."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"
ACTIONLINT = str(Path(sys.executable).parent / "actionlint")


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ACTIONLINT, "-no-color", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_actionlint_finds_nothing_and_checks_shell_scripts() -> None:
    assert shutil.which("shellcheck"), "scripts/system-deps.sh installs shellcheck"
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_fail_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text().replace("matrix.stack == 'dev'", "matrix.stak == 'dev'", 1)
    broken.write_text(text.replace("run: ./scripts/test.sh", 'run: echo "$undefined'))
    result = actionlint(broken)
    assert result.returncode != 0 and "stak" in result.stdout


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_the_workflow_tests_checks_and_previews_each_stack_with_the_pack() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    assert any(s.get("run") == "./scripts/test.sh" for s in _steps(jobs["tests"]))
    check = " ".join(s.get("run", "") for s in _steps(jobs["policy"]))
    assert "vos-infra check --stack" in check and "for stack in dev prod" in check
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    action = next(
        s for s in _steps(preview) if str(s.get("uses", "")).startswith("pulumi/actions@")
    )
    inputs = action["with"]
    assert inputs["command"] == "preview" and inputs["policyPacks"] == "policies"
    assert inputs["policyPackConfigs"] == "policies/per-environment/${{ matrix.stack }}.json"
    assert inputs["comment-on-pr"] is True
    assert workflow["permissions"]["pull-requests"] == "write"
    for stack in ("dev", "prod"):
        assert (ROOT / "policies" / "per-environment" / f"{stack}.json").is_file()
