"""Plain per-app settings (`agents[].env`, `services.apiGateway.env`): they reach that app's
environment and no other's; a name of the platform's own, or one that looks like a
credential, is refused before anything is created, with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import config_with, profile, stack_overrides
from tools.offline.rendered import containers
from tools.offline.runner import evaluate


def _agents(**env: dict[str, str]) -> list[dict[str, Any]]:
    agents = [dict(a) for a in profile("dev")["agents"]]
    for agent in agents:
        if agent["name"] in env:
            agent["env"] = env[agent["name"]]
    return agents


def test_a_setting_reaches_its_app_only() -> None:
    settings = {"MAX_CONVERSATION_MESSAGES": "50", "AGENT_CHECK_INTERVAL_SECONDS": "30"}
    evaluation = evaluate("dev", config_with("dev", agents=_agents(weather=settings)))
    rendered = containers(evaluation)
    assert settings.items() <= rendered["weather-agent"].env.items()
    assert "MAX_CONVERSATION_MESSAGES" not in rendered["primary-agent"].env


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("VOS_SERVICE_NAME", "reserved"),
        ("OTEL_SERVICE_NAME", "reserved"),
        ("HTTPS_PROXY_FILE", "reserved"),
        ("HTTPS_PROXY", "reserved"),
        ("weather_units", "not a setting name"),
        ("WEATHER_API_KEY", "looks like a credential"),
        ("DB_PASSWORD", "looks like a credential"),
        ("SENTRY_DSN", "looks like a credential"),
    ],
)
def test_a_name_of_the_platforms_or_a_credential_is_refused(name: str, fragment: str) -> None:
    config = stack_overrides("dev") | {"agents": _agents(primary={name: "x"})}
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", config, REGISTRY)
    (problem,) = [p for p in caught.value.problems if p.key.startswith("vos-infra:agents[0].env")]
    assert fragment in problem.message, problem
    if fragment == "looks like a credential":
        assert "`secrets`" in problem.message and "--secret" in problem.message
