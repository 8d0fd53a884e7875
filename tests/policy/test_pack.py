"""The pack as the Pulumi CLI runs it: `python -u -m pulumi.policy` in policies/, driven
over the Analyzer gRPC protocol (tools/policy/analyzer.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.runtime import rpc
from vos_policies import PACK_NAME, RULES

from tests.helpers import config_with, profile
from tests.policy.cases import CONTAINER, SERVICE
from tools.offline.runner import evaluate
from tools.policy.analyzer import Analyzer
from tools.policy.check import check
from tools.policy.config import config_file, load
from tools.policy.resources import PolicyInput, from_evaluation


@pytest.fixture(scope="module")
def pack() -> Iterator[Analyzer]:
    with Analyzer() as analyzer:
        yield analyzer


def test_the_pack_describes_every_policy(pack: Analyzer) -> None:
    info = pack.info()
    assert info.name == PACK_NAME and info.supportsConfig
    described = {p.name: p for p in info.policies}
    assert set(described) == {r.name for r in RULES}
    for rule in RULES:
        policy = described[rule.name]
        assert policy.description == rule.description
        assert policy.remediation_steps == rule.remediation
        assert bool(policy.configSchema.properties) == bool(rule.config), rule.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_dev_and_prod_have_no_mandatory_violation(stack: str, preview: bool) -> None:
    evaluation = evaluate(stack, preview=preview)
    environment = evaluation.result.settings.environment
    report = check(from_evaluation(evaluation), environment, config_file(environment))
    assert report.mandatory == [], report.text()
    # The waived policies do report, as advisories (policies/per-environment/README.md).
    waived = {"every-service-scraped"}
    assert {d.policy for d in report.diagnostics} == waived


def _container(**props: object) -> PolicyInput:
    inputs = dict(SERVICE) | props
    return PolicyInput(CONTAINER, "urn:pulumi:dev::vos-infra::" + CONTAINER + "::x", "x",
                       inputs, inputs)  # fmt: skip


def _configure(pack: Analyzer, level: str) -> None:
    settings = load(config_file("dev"), [r.name for r in RULES], default_level=level)
    levels = dict.fromkeys(settings.levels, level)
    pack.configure(levels, settings.properties)


def test_levels_come_from_the_configuration(pack: Analyzer) -> None:
    privileged = _container(privileged=True)
    for level in ("mandatory", "advisory"):
        _configure(pack, level)
        found = [d for d in pack.analyze(privileged) if d.policy == "no-privileged-containers"]
        assert [d.level for d in found] == [level]
    _configure(pack, "disabled")
    assert pack.analyze(privileged) == []


def test_an_unknown_value_at_preview_keeps_a_mandatory_rule_mandatory(pack: Analyzer) -> None:
    """The SDK would report 'can't run policy during preview' as advisory; our rules read
    the unknown themselves and fail closed at their own level."""
    _configure(pack, "mandatory")
    found = pack.analyze(_container(privileged=rpc.UNKNOWN, readOnly=rpc.UNKNOWN))
    levels = {d.policy: d.level for d in found}
    assert levels.get("no-privileged-containers") == "mandatory"
    assert levels.get("read-only-root-filesystem") == "mandatory"
    assert not any("during preview" in d.message for d in found)


def test_the_dev_vault_s_audit_folder_passes_wherever_the_project_is_checked_out(
    tmp_path: Path,
) -> None:
    """Alloy mounts <project>/.state/vault/audit (vault.auditLogFolder): under /home, a
    sensitive folder, dev's pattern allows it and nothing beside it."""
    folder = "/home/runner/work/vos-infra/.state/vault/audit"  # a checkout under /home
    vault = {**profile("dev")["vault"], "auditLogFolder": folder}
    evaluation = evaluate("dev", config_with("dev", vault=vault))
    report = check(from_evaluation(evaluation), "dev", config_file("dev"))
    assert report.mandatory == [], report.text()
    strict = json.loads(config_file("dev").read_text())
    strict["no-sensitive-host-paths"]["allowedHostPaths"] = ["/var/lib/docker/containers"]
    (tmp_path / "strict.json").write_text(json.dumps(strict))
    refused = check(from_evaluation(evaluation), "dev", tmp_path / "strict.json")
    assert [d.policy for d in refused.mandatory] == ["no-sensitive-host-paths"], refused.text()
    assert "/home/runner/work/vos-infra/.state/vault/audit" in refused.text()
