"""`vos-infra check` as a user runs it: exit status, text and JSON output, the
environment's policy config, and a `pulumi preview --json` document whose secrets are
"[secret]" (opaque: never taken as compliant)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.offline.runner import evaluate
from tools.policy.resources import preview_document

ROOT = Path(__file__).resolve().parents[2]


def vos_infra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli.main", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_check_passes_each_stack_and_prints_each_violation_with_its_fix(stack: str) -> None:
    result = vos_infra("check", "--stack", stack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"policy check passed ({stack})" in result.stdout
    assert "[advisory] every-service-scraped" in result.stdout
    assert "    fix: Enable Prometheus" in result.stdout


def test_json_output_and_a_stricter_config_fail_the_check(tmp_path: Path) -> None:
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"all": "mandatory"}))  # no waivers
    result = vos_infra("check", "--stack", "dev", "--json", "--config", str(strict))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is False and report["environment"] == "dev"
    failed = {v["policy"] for v in report["violations"] if v["level"] == "mandatory"}
    # the waivers of policies/per-environment/dev.json, and nothing else
    waived = {"every-service-scraped", "image-digest-pinned", "non-root-user"}
    assert failed == waived | {"no-sensitive-host-paths"}
    assert all(v["remediation"] for v in report["violations"])


def test_an_unknown_policy_in_the_config_is_named(tmp_path: Path) -> None:
    config = tmp_path / "typo.json"
    config.write_text(json.dumps({"no-privileged": "mandatory"}))
    result = vos_infra("check", "--stack", "dev", "--config", str(config))
    assert result.returncode == 2 and "no policy named no-privileged" in result.stderr


def _write(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_from_preview_treats_secrets_as_opaque(tmp_path: Path) -> None:
    document = preview_document(evaluate("dev", preview=True))
    result = vos_infra("check", "--from-preview", _write(tmp_path, document),
                       "--environment", "dev", "--json")  # fmt: skip
    assert result.returncode == 1, result.stderr
    failed = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in
              json.loads(result.stdout)["violations"] if v["level"] == "mandatory"}  # fmt: skip
    # The uploads are one secret property: hidden, so the TLS settings they carry cannot
    # be verified, and the rules that read them do not pass.
    assert ("postgres-tls-only", "postgres-server-files") in failed
    assert ("rabbitmq-tls-only", "rabbitmq-server-files") in failed
    assert ("private-keys-protected", "weaviate-server-files") in failed


def test_from_preview_with_visible_values_passes_and_a_hidden_setting_fails(
    tmp_path: Path,
) -> None:
    # as `pulumi preview --json --show-secrets` prints it
    document = preview_document(evaluate("dev", preview=True), show_secrets=True)
    passed = vos_infra("check", "--from-preview", _write(tmp_path, document), "--environment",
                       "dev")  # fmt: skip
    assert passed.returncode == 0, passed.stdout
    weaviate = next(s["newState"] for s in document["steps"]
                    if s["urn"].endswith("::weaviate-server"))  # fmt: skip
    # One secret environment value makes the whole list secret: the CLI prints "[secret]".
    weaviate["inputs"]["envs"] = "[secret]"
    hidden = vos_infra("check", "--from-preview", _write(tmp_path, document), "--environment",
                       "dev")  # fmt: skip
    assert hidden.returncode == 1
    assert "[mandatory] weaviate-requires-auth: weaviate-server" in hidden.stdout


def test_from_preview_needs_the_environment(tmp_path: Path) -> None:
    result = vos_infra("check", "--from-preview", _write(tmp_path, {"steps": []}))
    assert result.returncode == 2 and "--environment" in result.stderr
