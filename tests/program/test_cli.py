"""`vos-infra plan`: the console command works offline and never prints a secret."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from tests.helpers import SIGNED
from tools.cli import plan as plan_module
from tools.cli.main import main
from tools.cli.redact import SECRET, scrub
from tools.offline.mocks import unwrap
from tools.offline.runner import Evaluation, evaluate


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli.main", *args], capture_output=True, text=True, timeout=120
    )


# apitype.ResourceV3, as `pulumi preview --json` prints each step's newState
STATE_KEYS = {"type", "urn", "custom", "inputs", "outputs", "parent", "dependencies",
              "propertyDependencies", "provider"}  # fmt: skip


def _states(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["urn"]: s["newState"] for s in plan["steps"]}


def _named(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {urn.rsplit("::", 1)[-1]: state for urn, state in _states(plan).items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_json_is_what_pulumi_preview_json_prints(stack: str) -> None:
    result = _cli("plan", "--stack", stack, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    steps = plan["steps"]
    assert all({"op", "urn", "newState"} <= set(s) for s in steps)
    assert all(set(s["newState"]) >= STATE_KEYS and s["newState"]["urn"] == s["urn"] for s in steps)
    assert {s["op"] for s in steps} == {"create"}  # a new stack
    states = _states(plan)
    assert len(states) == len(steps)
    registered = {r.urn for r in evaluate(stack).registrations}
    # every registration, the root stack and the default providers
    extra = {urn.split("::")[2] for urn in set(states) - registered}
    assert set(states) >= registered
    assert extra == {"pulumi:pulumi:Stack", "pulumi:providers:docker", "pulumi:providers:random",
                     "pulumi:providers:tls"}  # fmt: skip
    assert plan["changeSummary"] == {"create": len(registered) + 1}
    # parents, dependencies and providers are resources of the plan
    for state in states.values():
        assert state["parent"] in states or state["type"].startswith("pulumi:"), state["urn"]
        assert set(state["dependencies"]) <= set(states), state["urn"]
        for urns in state["propertyDependencies"].values():
            assert set(urns) <= set(state["dependencies"]), state["urn"]
        if state["provider"]:
            assert states[state["provider"].rsplit("::", 1)[0]]["custom"] is True
    providers = [s for s in states.values() if s["type"].startswith("pulumi:providers:")]
    assert len(providers) == 3 and all(s["custom"] is True for s in providers)
    by_name = _named(plan)
    assert by_name["pki"]["custom"] is False  # a component
    leaf = by_name["pki-postgres-cert"]
    assert leaf["custom"] is True and leaf["parent"] == by_name["pki"]["urn"]
    assert leaf["provider"].startswith(f"urn:pulumi:{stack}::vos-infra::pulumi:providers:tls::")
    assert leaf["inputs"]["caPrivateKeyPem"] == SECRET
    assert leaf["dependencies"] and leaf["propertyDependencies"]["caPrivateKeyPem"]
    # a service container depends on its files carrier
    containers = [s for s in states.values() if s["type"] == "docker:index/container:Container"]
    carriers = {s["urn"] for s in containers if s["urn"].endswith("-files")}
    for container in containers:
        carrier = container["urn"] + "-files"
        if carrier in carriers:
            assert carrier in container["dependencies"], container["urn"]
    # uploads show where each file goes and with which owner and mode, never a secret content
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


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_plan_json_shows_secrets_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Evaluation] = []

    def recording_evaluate(*args: Any, **kwargs: Any) -> Evaluation:
        seen.append(evaluate(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(plan_module, "evaluate", recording_evaluate)
    for flags, shown in (([], False), (["--show-secrets"], True)):
        assert main(["plan", "--stack", "dev", "--json", *flags]) == 0
        # compared with the decoded strings: in the JSON text a key's newlines are escaped
        strings = _strings(json.loads(capsys.readouterr().out))
        evaluation = seen[-1]
        password = unwrap(evaluation.named("credentials-postgres-admin-password").outputs["result"])
        key = unwrap(evaluation.named("pki-postgres-key").outputs["privateKeyPem"])
        secrets = evaluation.secret_values()
        assert {password, key} <= secrets and len(secrets) > 50
        found = {s for s in secrets if any(s in string for string in strings)}
        assert found == (secrets if shown else set())
        assert (SECRET in strings) is not shown
    assert main(["plan", "--stack", "dev", "--show-secrets"]) == 2
    assert "--show-secrets needs --json" in capsys.readouterr().err


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
    from tests.helpers import config_with
    from tools.offline import stack_files

    bad = config_with("dev", tls={"keyAlgorithm": "DSA"}, rotation={"ca": -1})
    monkeypatch.setattr(stack_files, "read_stack_config", lambda stack, *a: bad)
    monkeypatch.setattr("tools.offline.runner.read_stack_config", lambda stack, *a: bad)
    assert main(["plan", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "vos-infra:tls.keyAlgorithm" in err and "vos-infra:rotation.ca" in err
    assert "nothing was created" in err


def test_preview_mode_plan_marks_unknowns() -> None:
    result = _cli("plan", "--stack", "dev", "--preview", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    signed = [s for s in _states(plan).values() if s["type"] == SIGNED]
    # as the preview prints a value unknown until `up`: the engine's unknown sentinel
    assert signed and all(s["inputs"]["caCertPem"] == rpc.UNKNOWN for s in signed)
    summary = _cli("plan", "--stack", "dev", "--preview")
    assert "(preview under offline mocks" in summary.stdout


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
        "stack dev: postgres, rabbitmq, weaviate, api-gateway, edge, egress-proxy, prometheus, "
        "alertmanager, "
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
    # edge, the egress proxy and the observability stack (Loki as store and gate), each with
    # its files carrier
    assert "  44  docker:index/container:Container" in out
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
    # a new stack: the update creates every resource the header counts, and nothing else
    total = re.search(r" - (\d+) resources\n", out)
    assert total and f"an update would: create {total.group(1)}\n" in out, out
    # a summary: about one line per kind of resource and per service, not per resource
    assert len(out.splitlines()) < 80


def test_plan_shows_a_digest_for_files_declared_non_secret(dev: Evaluation) -> None:
    from tools.cli.plan import describe
    from tools.offline.rendered import containers

    plan = describe(dev)
    carrier = next(r for r in plan["resources"] if r["name"] == "postgres-server-files")
    uploads = {u["file"]: u["content"] for u in carrier["inputs"]["uploads"]}
    hba = containers(dev)["postgres"].file("/etc/vos/pg_hba.conf")
    digest = hashlib.sha256(hba.encode()).hexdigest()[:16]
    assert uploads["/etc/vos/pg_hba.conf"] == f"sha256:{digest} ({len(hba)} bytes)"
    assert uploads["/etc/vos/tls/server.key"] == SECRET
    assert uploads["/etc/vos/secrets/bootstrap-password"] == SECRET
    # the JSON, as a preview prints inputs, has the content itself
    printed = _named(plan_module.preview_json(dev))["postgres-server-files"]
    for where in ("inputs", "outputs"):
        shown = {u["file"]: u["content"] for u in printed[where]["uploads"]}
        assert shown["/etc/vos/pg_hba.conf"] == hba
        assert shown["/etc/vos/tls/server.key"] == SECRET
        assert shown["/etc/vos/secrets/bootstrap-password"] == SECRET


def test_placeholder_digests_warn_offline_and_stop_a_real_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from components.registry import REGISTRY
    from infra.program import OFFLINE, PlaceholderImages, refuse_placeholder_images
    from stacks import load_settings
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
