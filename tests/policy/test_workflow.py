"""The workflows: actionlint (with shellcheck for `run:` scripts) finds nothing in either.
The pull-request workflow runs the tests, `vos-infra check` and `pulumi preview
--policy-pack` per stack with the official Pulumi action commenting on the pull request; the
nightly one previews prod with a refresh and fails on any change, and runs `up --refresh`
for the renewals only by hand, in the `production` environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"
DRIFT = ROOT / ".github" / "workflows" / "drift.yml"
ACTIONLINT = str(Path(sys.executable).parent / "actionlint")


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ACTIONLINT, "-no-color", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("workflow", [WORKFLOW, DRIFT], ids=lambda p: p.name)
def test_actionlint_finds_nothing_and_checks_shell_scripts(workflow: Path) -> None:
    assert shutil.which("shellcheck"), "scripts/system-deps.sh installs shellcheck"
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_fail_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text().replace("matrix.stack == 'dev'", "matrix.stak == 'dev'", 1)
    broken.write_text(text.replace("run: ./scripts/test.sh", 'run: echo "$undefined'))
    result = actionlint(broken)
    assert result.returncode != 0 and "stak" in result.stdout


def test_actionlint_knows_the_pulumi_action_s_inputs_and_the_runner_labels(tmp_path: Path) -> None:
    """Control: a misspelt input of pulumi/actions and an undeclared runner label fail."""
    broken = tmp_path / "drift.yml"
    text = DRIFT.read_text().replace("expect-no-changes: true", "expect-no-change: true")
    broken.write_text(text.replace("vos-prod]", "vos-prd]", 1))
    config = ROOT / ".github" / "actionlint.yaml"
    result = subprocess.run(
        [ACTIONLINT, "-no-color", "-config-file", str(config), str(broken)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "expect-no-change" in result.stdout and "vos-prd" in result.stdout, result.stdout


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


def _pulumi(job: dict[str, Any]) -> dict[str, Any]:
    action = next(s for s in _steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@"))
    found: dict[str, Any] = action["with"]
    return found


def test_prod_is_previewed_nightly_with_a_refresh_and_any_change_fails_it() -> None:
    workflow = yaml.safe_load(DRIFT.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert [entry["cron"] for entry in triggers["schedule"]] == ["17 3 * * *"]
    drift = _pulumi(workflow["jobs"]["drift"])
    assert (drift["command"], drift["stack-name"]) == ("preview", "prod")
    assert drift["refresh"] is True and drift["expect-no-changes"] is True
    assert drift["policyPacks"] == "policies"
    assert drift["policyPackConfigs"] == "policies/per-environment/prod.json"
    assert "if" not in workflow["jobs"]["drift"]


def test_renewal_runs_only_by_hand_in_the_production_environment() -> None:
    workflow = yaml.safe_load(DRIFT.read_text())
    renew = workflow["jobs"]["renew"]
    assert renew["environment"] == "production"
    assert renew["if"] == "github.event_name == 'workflow_dispatch' && inputs.renew"
    assert workflow[True]["workflow_dispatch"]["inputs"]["renew"]["default"] is False
    up = _pulumi(renew)
    assert (up["command"], up["stack-name"], up["refresh"]) == ("up", "prod", True)
    # Both share prod's state: one at a time, none cancelled half-way.
    assert workflow["concurrency"] == {"group": "prod-state", "cancel-in-progress": False}


def test_the_runner_s_vault_ca_is_the_one_the_prod_stack_names() -> None:
    workflow = yaml.safe_load(DRIFT.read_text())
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert workflow["env"]["VAULT_CACERT"] == stack["vos-infra:vault"]["caCertFile"]
