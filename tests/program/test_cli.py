"""`vos-infra plan`: the console command works offline and never prints a secret."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.cli import plan as plan_module
from infra.cli.main import main
from infra.cli.redact import SECRET, scrub
from infra.offline.runner import Evaluation, evaluate
from tests.helpers import SIGNED


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli.main", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_succeeds_for_each_stack(stack: str) -> None:
    result = _cli("plan", "--stack", stack, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["stack"] == stack
    assert plan["resourceCount"] == len(plan["resources"]) == len(evaluate(stack).registrations)
    by_name = {r["name"]: r for r in plan["resources"]}
    assert by_name["pki-postgres-cert"]["inputs"]["caPrivateKeyPem"] == SECRET
    assert by_name["pki-postgres-cert"]["parent"] == "pki"
    # uploads show where each file goes and with which owner and mode, never what it holds
    uploads = {u["file"]: u for u in by_name["postgres-server-files"]["inputs"]["uploads"]}
    key = uploads["/etc/vos/tls/server.key"]
    assert key == {
        "file": "/etc/vos/tls/server.key",
        "owner": "999",
        "group": "999",
        "permissions": "0600",
        "content": SECRET,
    }


def test_plan_text_names_type_name_and_parent() -> None:
    result = _cli("plan", "--stack", "dev", "--full")
    assert result.returncode == 0, result.stderr
    assert (
        "tls:index/locallySignedCert:LocallySignedCert  pki-postgres-cert  (parent pki)"
        in result.stdout
    )
    assert "-----BEGIN" not in result.stdout


def test_plan_shows_no_secret_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Evaluation] = []

    def recording_evaluate(*args: Any, **kwargs: Any) -> Evaluation:
        evaluation = evaluate(*args, **kwargs)
        seen.append(evaluation)
        return evaluation

    monkeypatch.setattr(plan_module, "evaluate", recording_evaluate)
    for as_json in ([], ["--full"], ["--json"]):
        assert main(["plan", "--stack", "dev", *as_json]) == 0
        printed = capsys.readouterr().out
        secrets = seen[-1].secret_values()
        assert len(secrets) > 50
        leaked = [s for s in secrets if s in printed]
        assert leaked == []
        # and the signing CA key is there, redacted, not absent
        assert SECRET in printed or not as_json


def test_scrub_removes_a_secret_that_was_not_marked() -> None:
    text = 'envs: ["PASSWORD=abcDEF123456"]'
    assert scrub(text, {"abcDEF123456"}) == f'envs: ["PASSWORD={SECRET}"]'


def test_unknown_stack_is_a_clear_error() -> None:
    result = _cli("plan", "--stack", "nope")
    assert result.returncode == 2
    assert "no stack file Pulumi.nope.yaml; known stacks: dev, prod" in result.stderr


def test_settings_errors_exit_2_with_every_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.offline import stack_files
    from tests.helpers import config_with

    bad = config_with("dev", tls={"keyAlgorithm": "DSA"}, rotation={"ca": -1})
    monkeypatch.setattr(stack_files, "read_stack_config", lambda stack, *a: bad)
    monkeypatch.setattr("infra.offline.runner.read_stack_config", lambda stack, *a: bad)
    assert main(["plan", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "vos-infra:tls.keyAlgorithm" in err and "vos-infra:rotation.ca" in err
    assert "nothing was created" in err


def test_preview_mode_plan_marks_unknowns() -> None:
    result = _cli("plan", "--stack", "dev", "--preview", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["mode"] == "preview"
    signed = [r for r in plan["resources"] if r["type"] == SIGNED]
    assert all(r["inputs"]["caCertPem"] == "[unknown until up]" for r in signed)


def test_render_refuses_a_file_or_a_foreign_folder_and_replaces_an_earlier_render(
    tmp_path: Path,
) -> None:
    target = tmp_path / "file"
    target.write_text("mine")
    result = _cli("render", "--stack", "dev", "--out", str(target))
    assert result.returncode == 2 and "is not a folder" in result.stderr
    assert "Traceback" not in result.stderr and target.read_text() == "mine"
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    result = _cli("render", "--stack", "dev", "--out", str(foreign))
    assert result.returncode == 2 and "other files in it" in result.stderr
    assert (foreign / "keep.txt").read_text() == "mine"
    earlier = tmp_path / "render"
    assert _cli("render", "--stack", "dev", "--out", str(earlier)).returncode == 0
    (earlier / "stale").write_text("from another render")
    assert _cli("render", "--stack", "dev", "--out", str(earlier)).returncode == 0
    assert not (earlier / "stale").exists() and (earlier / "manifest.json").is_file()


def test_endpoints_say_what_runs_what_is_published_and_where_the_secrets_are() -> None:
    result = _cli("endpoints", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        "stack dev: postgres, rabbitmq, weaviate, api-gateway, edge, prometheus, alertmanager, "
        "postgres-exporter, blackbox-exporter, grafana, loki, alloy, jaeger run" in out
    )
    assert "agents: primary-agent, weather-agent" in out
    # the gateway only through the edge; Prometheus with its own TLS and password
    assert [line for line in out.splitlines() if "open  https://" in line] == [
        "  open  https://localhost:8443  (edge -> api-gateway)",
        "  open  https://localhost:9090  (prometheus, user admin)",
        "  open  https://localhost:3000  (grafana, user admin)",
    ]
    assert "-field=value vos/dev/api-gateway/api-key" in out
    assert "pulumi stack output caCertPem --stack dev > .state/dev-ca.pem" in out
    assert "bao kv get -mount=secret -field=value vos/dev/postgres/admin-password" in out


def test_plan_summary_is_the_default_view() -> None:
    result = _cli("plan", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the data services and their two jobs, the gateway, two agents, their sidecars, the
    # edge and the observability stack (Loki as store and gate), each with its files carrier
    assert "  42  docker:index/container:Container" in out
    assert "  alertmanager: alertmanager-server, files carrier" in out
    assert "  postgres: files carrier, postgres-server" in out
    assert "  weather-agent: files carrier, weather-agent-app" in out
    assert "  weather-agent-vault-agent: files carrier, weather-agent-vault-agent" in out
    assert "  edge: edge-server, files carrier" in out
    # the edge is the apps' only published entry; Prometheus has TLS and auth of its own
    assert (
        "published on the host:\n  127.0.0.1:8443 -> edge:8443\n"
        "  127.0.0.1:3000 -> grafana:3000\n  127.0.0.1:9090 -> prometheus:9090\n\n"
    ) in out
    assert "an update would: create 307" in out
    # a summary: about one line per kind of resource and per service, not per resource
    assert len(out.splitlines()) < 80


def test_plan_shows_a_digest_for_files_declared_non_secret(dev: Evaluation) -> None:
    from infra.cli.plan import describe
    from infra.offline.rendered import containers

    plan = describe(dev)
    carrier = next(r for r in plan["resources"] if r["name"] == "postgres-server-files")
    uploads = {u["file"]: u["content"] for u in carrier["inputs"]["uploads"]}
    hba = containers(dev)["postgres"].file("/etc/vos/pg_hba.conf")
    digest = hashlib.sha256(hba.encode()).hexdigest()[:16]
    assert uploads["/etc/vos/pg_hba.conf"] == f"sha256:{digest} ({len(hba)} bytes)"
    assert uploads["/etc/vos/tls/server.key"] == SECRET
    assert uploads["/etc/vos/secrets/bootstrap-password"] == SECRET


def test_placeholder_digests_warn_offline_and_stop_a_real_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from components.registry import REGISTRY
    from infra.program import OFFLINE, PlaceholderImages, refuse_placeholder_images
    from infra.settings import load_settings
    from tests.helpers import stack_overrides

    settings = load_settings("prod", stack_overrides("prod"), REGISTRY)
    plan = _cli("plan", "--stack", "prod")
    assert plan.returncode == 0 and "image(s) will be refused at `pulumi up`" in plan.stderr
    monkeypatch.delenv(OFFLINE, raising=False)
    monkeypatch.setattr("pulumi.runtime.is_dry_run", lambda: False)
    with pytest.raises(PlaceholderImages) as caught:
        refuse_placeholder_images(settings)
    text = str(caught.value)
    assert "nothing was created" in text
    assert "docker buildx imagetools inspect rabbitmq:4.1.4-management" in text
    assert "postgres:17.6" not in text  # the one real pin is not a placeholder
