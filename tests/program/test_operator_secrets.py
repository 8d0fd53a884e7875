"""Secrets the operator supplies to an app: from Pulumi config secrets only, kept in Vault
under the app's own folder (its policy reads them, no other app's does), rendered by its
sidecar to the file its `<NAME>_FILE` names, never in any container's definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.app.containers import sidecar_name
from components.app.contract import App
from components.registry import REGISTRY
from components.vault_agent.files import CONF, SECRETS_DIR
from stacks import SettingsError, load_settings
from tests.helpers import is_secret, output, profile, stack_overrides
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import (
    OFFLINE_SECRET_PLACEHOLDER,
    StackConfig,
    read_stack_config,
    with_overrides,
)

KEY = "sk-test-not-a-real-key-0123456789"


def _agents(**secrets: dict[str, str]) -> list[dict[str, Any]]:
    agents = [dict(a) for a in profile("dev")["agents"]]
    for agent in agents:
        if agent["name"] in secrets:
            agent["secrets"] = secrets[agent["name"]]
    return agents


def _config(secret: bool) -> StackConfig:
    config = with_overrides(
        read_stack_config("dev"), agents=_agents(primary={"GEMINI_API_KEY": KEY})
    )
    keys = [*config.secret_keys, "vos-infra:agents"] if secret else config.secret_keys
    return StackConfig(config.values, keys)


@pytest.fixture(scope="module")
def supplied() -> Evaluation:
    return evaluate("dev", _config(secret=True))


def test_the_value_is_kept_in_vault_under_the_apps_folder_as_a_secret(supplied: Evaluation) -> None:
    stored = supplied.named("vault-primary-agent-operator-gemini-api-key")
    assert output(stored, "path") == "vos/dev/primary-agent/operator-gemini-api-key"
    assert is_secret(stored, "data") and output(stored, "data") == {"value": KEY}
    policy = str(output(supplied.named("vault-weather-agent-policy"), "policy"))
    assert "primary-agent" not in policy  # another app's policy does not reach the folder


def test_the_sidecar_renders_it_where_the_app_is_told_and_nothing_carries_the_value(
    supplied: Evaluation,
) -> None:
    rendered = containers(supplied)
    app = rendered["primary-agent"]
    assert app.env["GEMINI_API_KEY_FILE"] == f"{SECRETS_DIR}/operator-gemini-api-key"
    config = json.loads(rendered[sidecar_name(App("primary-agent", "agent"))].file(CONF))
    destinations = {t["destination"]: t["contents"] for t in config["template"]}
    assert (
        "vos/dev/primary-agent/operator-gemini-api-key"
        in destinations[app.env["GEMINI_API_KEY_FILE"]]
    )
    assert "GEMINI_API_KEY_FILE" not in rendered["weather-agent"].env
    for container in rendered.values():
        assert KEY not in json.dumps(container.env), container.service
        assert not [f for f in container.files.values() if KEY in f.content], container.service


def test_a_value_that_is_not_a_pulumi_secret_is_refused_with_the_secret_fix() -> None:
    with pytest.raises(SettingsError) as caught:
        evaluate("dev", _config(secret=False))
    (problem,) = [p for p in caught.value.problems if "GEMINI_API_KEY" in p.key]
    assert problem.key == "vos-infra:agents[0].secrets.GEMINI_API_KEY"
    assert "not a Pulumi secret" in problem.message
    assert problem.fix.startswith("pulumi config set --secret --path")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("VOS_POSTGRES_PASSWORD", "reserved"), ("OTEL_KEY", "reserved"),
     ("API_KEY_FILE", "reserved"), ("gemini_api_key", "not a secret name")],
)  # fmt: skip
def test_a_name_that_would_shadow_the_platforms_is_refused(name: str, fragment: str) -> None:
    config = stack_overrides("dev") | {"agents": _agents(primary={name: KEY})}
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", config, REGISTRY)
    assert any(fragment in p.message for p in caught.value.problems), caught.value


def test_a_profile_may_not_hold_one(tmp_path: Path) -> None:
    dev = profile("dev")
    dev["agents"][0]["secrets"] = {"GEMINI_API_KEY": KEY}
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(dev))
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", stack_overrides("dev"), REGISTRY, profiles_dir=tmp_path)
    (problem,) = [p for p in caught.value.problems if "GEMINI_API_KEY" in p.key]
    assert "environment profile" in problem.message and "--secret" in problem.fix


def test_a_nested_secret_in_a_stack_file_marks_its_key_secret_as_the_engine_does(
    tmp_path: Path,
) -> None:
    """`pulumi config set --secret --path 'vos-infra:agents[0].secrets.X'` nests a `secure:`
    value; the engine then reports the whole `vos-infra:agents` key as secret."""
    agents = _agents(primary={"GEMINI_API_KEY": {"secure": "v1:AAAA"}})  # type: ignore[dict-item]
    document = {"config": {"vos-infra:environment": "dev", "vos-infra:agents": agents}}
    (tmp_path / "Pulumi.nested.yaml").write_text(yaml.safe_dump(document))
    config = read_stack_config("nested", tmp_path)
    assert config.secret_keys == ["vos-infra:agents"]
    decoded = json.loads(config.values["vos-infra:agents"])
    assert decoded[0]["secrets"] == {"GEMINI_API_KEY": OFFLINE_SECRET_PLACEHOLDER}


DSN = "https://0123456789abcdef@o42.ingest.sentry.io/4242"


def test_error_tracking_gives_every_app_the_dsn_as_a_file_and_its_host_as_a_destination() -> None:
    config = with_overrides(read_stack_config("dev"), errorTracking={"sentryDsn": DSN})
    secret_keys = [*config.secret_keys, "vos-infra:errorTracking"]
    evaluation = evaluate("dev", StackConfig(config.values, secret_keys))
    settings = evaluation.result.settings
    rendered = containers(evaluation)
    for app in ("api-gateway", "primary-agent", "weather-agent"):
        assert rendered[app].env["SENTRY_DSN_FILE"] == f"{SECRETS_DIR}/operator-sentry-dsn"
        stored = evaluation.named(f"vault-{app}-operator-sentry-dsn")
        assert is_secret(stored, "data") and output(stored, "data") == {"value": DSN}
        assert "o42.ingest.sentry.io" in {d.host for d in settings.destinations(app)}
        assert DSN not in json.dumps(rendered[app].env)


def test_a_dsn_that_is_not_secret_or_not_a_dsn_is_refused() -> None:
    config = stack_overrides("dev") | {"errorTracking": {"sentryDsn": DSN}}
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", config, REGISTRY, is_secret=lambda path: False)
    assert "vos-infra:errorTracking.sentryDsn" in caught.value.keys
    config = stack_overrides("dev") | {"errorTracking": {"sentryDsn": "http://sentry.local/1"}}
    with pytest.raises(SettingsError, match="is not a Sentry DSN"):
        load_settings("dev", config, REGISTRY)
