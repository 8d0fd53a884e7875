"""An offline plan is a preview: `vos-infra check --from-preview` of what
`vos-infra plan --json --show-secrets` prints gives the verdict of `vos-infra check --stack`,
for the shipped stacks and for insecure ones."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from tests.helpers import config_with, profile
from tests.policy.test_check_cli import vos_infra
from tools.cli.main import main
from tools.cli.plan import preview_json
from tools.offline.mocks import unwrap
from tools.offline.runner import Evaluation
from tools.policy.check import check
from tools.policy.config import config_file
from tools.policy.resources import from_evaluation, from_preview


def _verdict(report: str) -> tuple[bool, int, list[tuple[str, ...]]]:
    found = json.loads(report)
    violations = sorted(
        (v["level"], v["policy"], v["urn"], v["message"]) for v in found["violations"]
    )
    return found["passed"], found["resources"], violations


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_check_of_the_plan_is_the_check_of_the_stack(stack: str, tmp_path: Path) -> None:
    plan = vos_infra("plan", "--stack", stack, "--json", "--show-secrets")
    assert plan.returncode == 0, plan.stderr
    (tmp_path / "plan.json").write_text(plan.stdout)
    of_plan = vos_infra("check", "--from-preview", str(tmp_path / "plan.json"),
                        "--environment", stack, "--json")  # fmt: skip
    of_stack = vos_infra("check", "--stack", stack, "--json")
    assert of_plan.returncode == of_stack.returncode == 0, of_plan.stdout
    assert _verdict(of_plan.stdout) == _verdict(of_stack.stdout)
    passed, resources, violations = _verdict(of_plan.stdout)
    assert passed and resources > 250
    assert {v[0] for v in violations} == {"advisory"}  # the waived ones only


def test_an_insecure_override_fails_both_checks_alike(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    every_interface = profile("dev")["network"] | {"bindAddress": "0.0.0.0"}  # noqa: S104
    insecure = config_with("dev", network=every_interface)
    monkeypatch.setattr("tools.offline.runner.read_stack_config", lambda stack, *a: insecure)
    assert main(["plan", "--stack", "dev", "--json", "--show-secrets"]) == 0
    (tmp_path / "plan.json").write_text(capsys.readouterr().out)
    assert main(["check", "--from-preview", str(tmp_path / "plan.json"), "--environment", "dev",
                 "--json"]) == 1  # fmt: skip
    of_plan = _verdict(capsys.readouterr().out)
    assert main(["check", "--stack", "dev", "--json"]) == 1
    of_stack = _verdict(capsys.readouterr().out)
    assert of_plan == of_stack
    mandatory = {(policy, urn.rsplit("::", 1)[-1]) for level, policy, urn, _ in of_plan[2]
                 if level == "mandatory"}  # fmt: skip
    assert mandatory == {
        ("published-ports-on-bind-address", "edge-server"),
        ("published-ports-on-bind-address", "grafana-server"),
        ("published-ports-on-bind-address", "prometheus-server"),
    }


def _with_trust_line(dev: Evaluation) -> Evaluation:
    """dev with a pg_hba.conf that trusts every host (tests/policy/cases.py postgres-tls-only),
    the file's content changed where the program registered it."""
    target = dev.named("postgres-server-files")

    def insecure(properties: dict[str, Any]) -> dict[str, Any]:
        uploads = unwrap(properties["uploads"])
        for upload in uploads:
            if upload["file"].endswith("pg_hba.conf"):
                upload["content"] += "host all all all trust\n"
        return properties | {"uploads": rpc.wrap_rpc_secret(uploads)}

    changed = replace(target, inputs=insecure(target.inputs), outputs=insecure(target.outputs))
    return replace(dev, registrations=[changed if r is target else r for r in dev.registrations])


@pytest.mark.parametrize("show_secrets", [True, False], ids=["show-secrets", "secrets-hidden"])
def test_a_file_the_plan_prints_is_checked_as_the_stack_checks_it(
    dev: Evaluation, show_secrets: bool, tmp_path: Path
) -> None:
    """pg_hba.conf is declared non-secret: its content is in the plan with or without the
    secrets, and the TLS-only rule reads it there as in the stack."""
    evaluation = _with_trust_line(dev)
    of_stack = check(from_evaluation(evaluation), "dev", config_file("dev"))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(preview_json(evaluation, show_secrets)))
    of_plan = check(from_preview(path), "dev", config_file("dev"))
    assert of_plan.diagnostics == of_stack.diagnostics
    assert {(d.policy, d.urn.rsplit("::", 1)[-1]) for d in of_stack.mandatory} == {
        ("postgres-tls-only", "postgres-server-files")
    }
