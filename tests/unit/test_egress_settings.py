"""An app's outside destinations as the settings take them: names (a port if not 443), never
addresses, networks or URLs; exact names in prod; and a proxy to reach them through. Each
refusal names the key and the fix, before anything is created."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from stacks.egress import Destination, parse_destination
from tests.helpers import profile, stack_overrides


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api.openai.com", Destination("api.openai.com", 443)),
        ("weather.example.net:8443", Destination("weather.example.net", 8443)),
        ("*.example.org", Destination("example.org", 443, wildcard=True)),
    ],
)
def test_a_destination_is_a_name_and_a_port(text: str, expected: Destination) -> None:
    assert parse_destination(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10.0.0.8", "IP address or a network"),
        ("10.0.0.0/8", "IP address or a network"),
        ("[2001:db8::1]:443", "IP address or a network"),
        ("2001:db8::1", "IP address or a network"),
        ("https://api.openai.com", "a URL or a path"),
        ("api.openai.com/v1", "a URL or a path"),
        ("postgres", "not an outside host name"),
        ("API.openai.com", "not an outside host name"),
        ("*.com", "not an outside host name"),
        ("api.openai.com:0", "no valid port"),
        ("api.openai.com:https", "no valid port"),
    ],
)
def test_anything_but_a_name_is_refused_with_how_to_write_it(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="write a host name") as caught:
        parse_destination(text)
    assert fragment in str(caught.value)


def _agents(environment: str, **egress: list[str]) -> list[dict[str, Any]]:
    agents = stack_overrides(environment).get("agents") or profile(environment)["agents"]
    return [
        dict(a) | ({"egress": egress[a["name"]]} if a["name"] in egress else {}) for a in agents
    ]


def _problems(environment: str, **overrides: Any) -> dict[str, str]:
    config = stack_overrides(environment) | overrides
    with pytest.raises(SettingsError) as caught:
        load_settings(environment, config, REGISTRY)
    return {p.key: f"{p.message} | {p.fix}" for p in caught.value.problems}


def test_an_address_in_an_agents_list_is_refused_with_its_key() -> None:
    found = _problems("dev", agents=_agents("dev", weather=["api.openweathermap.org", "1.2.3.4"]))
    assert "IP address" in found["vos-infra:agents[1].egress[1]"]
    assert (
        "pulumi config set --path 'vos-infra:agents[1].egress[1]'"
        in found["vos-infra:agents[1].egress[1]"]
    )


def test_a_wildcard_is_dev_only() -> None:
    settings = load_settings(
        "dev", stack_overrides("dev") | {"agents": _agents("dev", primary=["*.example.org"])},
        REGISTRY,
    )  # fmt: skip
    assert settings.destinations("primary-agent") == [Destination("example.org", 443, True)]
    found = _problems("prod", agents=_agents("prod", primary=["*.googleapis.com"]))
    assert "prod allows exact host names only" in found["vos-infra:agents[0].egress[0]"]
    assert (
        "'vos-infra:agents[0].egress[0]' googleapis.com" in found["vos-infra:agents[0].egress[0]"]
    )


def test_the_gateway_has_an_allow_list_too_and_no_other_service_does() -> None:
    services = {"apiGateway": {"egress": ["hooks.example.com"]}}
    settings = load_settings("dev", stack_overrides("dev") | {"services": services}, REGISTRY)
    assert [str(d) for d in settings.destinations("api-gateway")] == ["hooks.example.com"]
    found = _problems("dev", services={"postgres": {"egress": ["example.com"]}})
    assert "is not a known setting" in found["vos-infra:services.postgres.egress"]


def test_destinations_without_the_proxy_are_refused() -> None:
    found = _problems("dev", services={"egressProxy": {"enabled": False}})
    problem = found["vos-infra:services.egressProxy.enabled"]
    assert "vos-infra:agents[0].egress" in problem and "only way out" in problem
    # without any destination the proxy may be off
    agents = [{k: v for k, v in a.items() if k != "egress"} for a in profile("dev")["agents"]]
    overrides = {"services": {"egressProxy": {"enabled": False}}, "agents": agents}
    load_settings("dev", stack_overrides("dev") | overrides, REGISTRY)
