"""Service-level bad input fails before anything is created: the whole program is run and
must stop at settings validation with the key named, with no resource registered."""

from __future__ import annotations

from typing import Any

import pytest

from stacks import SettingsError
from tests.helpers import profile
from tools.offline.mocks import MockState
from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

AGENT = {"image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.5}
NETWORK = profile("dev")["network"]

CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "duplicate agents",
        {"agents": [AGENT | {"name": "weather"}, AGENT | {"name": "weather"}]},
        "vos-infra:agents[1].name",
    ),
    (
        "agent name with underscore",
        {"agents": [AGENT | {"name": "weather_agent"}]},
        "vos-infra:agents[0].name",
    ),
    ("agent name too long", {"agents": [AGENT | {"name": "a" * 21}]}, "vos-infra:agents[0].name"),
    ("empty agent name", {"agents": [AGENT | {"name": ""}]}, "vos-infra:agents[0].name"),
    ("agent without a name", {"agents": [AGENT]}, "vos-infra:agents[0].name"),
    ("unknown service", {"services": {"redis": {"enabled": True}}}, "vos-infra:services.redis"),
    (
        "colliding ports",
        {"network": NETWORK | {"publishedPorts": {"grafana": 8443, "apiGateway": 8443}}},
        "vos-infra:network.publishedPorts",
    ),
    (
        "service without an image",
        {"services": {"weaviate": {"image": ""}}},
        "vos-infra:services.weaviate.image",
    ),
]


@pytest.mark.parametrize(("overrides", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_service_input_stops_before_any_resource(overrides: dict[str, Any], key: str) -> None:
    state = MockState()
    with pytest.raises(SettingsError) as caught:
        evaluate("dev", with_overrides(read_stack_config("dev"), **overrides), state=state)
    assert any(k.startswith(key) for k in caught.value.keys), str(caught.value)
    assert "Fix:" in str(caught.value)
    assert state.entries == {}
