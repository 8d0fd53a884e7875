"""Settings: the dev and prod stacks load; bad input fails with the key and the fix named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import profile, stack_overrides


def test_dev_stack_loads_with_profile_defaults() -> None:
    settings = load_settings("dev", stack_overrides("dev"), REGISTRY)
    assert settings.environment == "dev"
    assert [a.name for a in settings.agents] == ["primary", "weather"]
    assert str(settings.network.bind_address) == "127.0.0.1"
    assert settings.tls.localhost_sans is True
    assert settings.name_prefix == "vos-dev"


def test_prod_stack_pins_every_image_by_digest() -> None:
    settings = load_settings("prod", stack_overrides("prod"), REGISTRY)
    assert settings.environment == "prod"
    images = settings.images()
    # every enabled service, every agent, and the sidecars' Vault Agent
    assert len(images) == len(settings.enabled_services()) + len(settings.agents) + 1
    assert "vos-infra:vault.agentImage" in images
    assert all("@sha256:" in image for image in images.values())
    assert settings.tls.localhost_sans is False


def test_stack_config_overrides_profile_key_by_key() -> None:
    overrides = stack_overrides("dev") | {"tls": {"validityHours": 1440}}
    settings = load_settings("dev", overrides, REGISTRY)
    assert settings.tls.validity_hours == 1440
    assert settings.tls.early_renewal_hours == profile("dev")["tls"]["earlyRenewalHours"]


def _dev(**changes: Any) -> dict[str, Any]:
    return {"environment": "dev", **copy.deepcopy(changes)}


def _agents(*agents: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.5}
    return [base | a for a in agents]


# (config overrides, stack, the key that must be named, a fragment of the message)
BAD_INPUTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("no environment", {}, "vos-infra:environment", "is not set"),
    ("unknown environment", {"environment": "staging"}, "vos-infra:environment", "no profile"),
    ("misspelt top-level key", _dev(agent=[]), "vos-infra:agent", "did you mean 'agents'"),
    (
        "misspelt nested key",
        _dev(tls={"validityHour": 10}),
        "vos-infra:tls.validityHour",
        "did you mean 'validityHours'",
    ),
    (
        "latest tag",
        _dev(services={"postgres": {"image": "postgres:latest"}}),
        "vos-infra:services.postgres.image",
        "moving 'latest' tag",
    ),
    (
        "untagged image",
        _dev(services={"rabbitmq": {"image": "rabbitmq"}}),
        "vos-infra:services.rabbitmq.image",
        "neither a tag nor a digest",
    ),
    (
        "malformed image",
        _dev(services={"weaviate": {"image": "Not An Image"}}),
        "vos-infra:services.weaviate.image",
        "not a valid image reference",
    ),
    (
        "prod image by tag",
        {"environment": "prod", **stack_overrides("prod"), "agents": _agents({"name": "primary"})},
        "vos-infra:agents[0].image",
        "only images pinned by digest",
    ),
    (
        "prod image missing",
        {"environment": "prod", "vault": {"address": "https://vault:8200"}},
        "vos-infra:services.postgres.image",
        "is required",
    ),
    (
        "a data service built from source",
        _dev(services={"postgres": {"build": {"context": "tests/docker/images/postgres"}}}),
        "vos-infra:services.postgres.build",
        "postgres runs its published image",
    ),
    (
        "an agent with an image and a build",
        _dev(agents=_agents({"name": "a", "build": {"context": "apps"}})),
        "vos-infra:agents[0].build",
        "set together with image",
    ),
    (
        "an agent with neither image nor build",
        _dev(agents=[{"name": "a", "memoryMb": 256, "cpus": 0.5}]),
        "vos-infra:agents[0].image",
        "is required but not set (or build",
    ),
    (
        "a build context that is not there",
        _dev(
            agents=[
                {"name": "a", "build": {"context": "no/such/folder"}, "memoryMb": 256, "cpus": 0.5}
            ]
        ),
        "vos-infra:agents[0].build.context",
        "is not a folder",
    ),
    (
        "a Dockerfile outside the build context",
        _dev(
            agents=[
                {
                    "name": "a",
                    "memoryMb": 256,
                    "cpus": 0.5,
                    "build": {
                        "context": "apps",
                        "dockerfile": "../edge/Dockerfile",
                    },
                }
            ]
        ),
        "vos-infra:agents[0].build.dockerfile",
        "is not a file inside the build context",
    ),
    (
        "a local build in prod",
        {
            **stack_overrides("prod"),
            "agents": [
                {
                    "name": "a",
                    "memoryMb": 256,
                    "cpus": 0.5,
                    "build": {"context": "apps"},
                }
            ],
        },
        "vos-infra:agents[0].build",
        "never a local build",
    ),
    (
        "invalid agent name",
        _dev(agents=_agents({"name": "Weather_Agent"})),
        "vos-infra:agents[0].name",
        "not a valid agent name",
    ),
    (
        "duplicate agents",
        _dev(agents=_agents({"name": "weather"}, {"name": "weather"})),
        "vos-infra:agents[1].name",
        "declared twice",
    ),
    (
        "agent named like a service",
        _dev(agents=_agents({"name": "postgres"})),
        "vos-infra:agents[0].name",
        "collides with a platform service",
    ),
    (
        "memory too small",
        _dev(services={"grafana": {"memoryMb": 16}}),
        "vos-infra:services.grafana.memoryMb",
        "greater than or equal to 64",
    ),
    (
        "cpus not a number",
        _dev(services={"loki": {"cpus": "lots"}}),
        "vos-infra:services.loki.cpus",
        "valid number",
    ),
    (
        "bind address not an IP",
        _dev(network={"bindAddress": "localhost:80"}),
        "vos-infra:network.bindAddress",
        "IPv4 or IPv6",
    ),
    (
        "privileged published port",
        _dev(network={"publishedPorts": {"apiGateway": 443}}),
        "vos-infra:network.publishedPorts.apiGateway",
        "greater than or equal to 1024",
    ),
    (
        "colliding published ports",
        _dev(network={"publishedPorts": {"edge": 3000, "grafana": 3000}}),
        "vos-infra:network.publishedPorts",
        "already published",
    ),
    (
        "publishing an unknown service",
        _dev(network={"publishedPorts": {"redis": 6379}}),
        "vos-infra:network.publishedPorts.redis",
        "not a service of the platform",
    ),
    (
        "publishing a disabled service",
        _dev(services={"grafana": {"enabled": False}}),
        "vos-infra:network.publishedPorts.grafana",
        "published but disabled",
    ),
    (
        "publishing the gateway around the edge",
        _dev(network={"publishedPorts": {"apiGateway": 9443}}),
        "vos-infra:network.publishedPorts.apiGateway",
        "may not be published: the gateway is reached only through the TLS edge",
    ),
    (
        "publishing Jaeger's unauthenticated UI",
        _dev(network={"publishedPorts": {"jaeger": 16686}}),
        "vos-infra:network.publishedPorts.jaeger",
        "may not be published: Jaeger's query UI has no authentication",
    ),
    (
        "Loki's gate without the edge's image (the edge itself off)",
        _dev(
            services={"edge": {"enabled": False, "image": None}},
            network={"publishedPorts": {"edge": None}},
        ),
        "vos-infra:services.edge.image",
        "is required but not set",
    ),
    (
        "the edge on the dev Vault's port",
        _dev(network={"publishedPorts": {"edge": 8200}}),
        "vos-infra:network.publishedPorts.edge",
        "taken by the Vault on this host",
    ),
    (
        "Vault on the sidecars' own loopback",
        _dev(vault={"address": "https://127.0.0.1:8200"}),
        "vos-infra:vault.address",
        "the container's own loopback",
    ),
    (
        "no CA to verify Vault with",
        _dev(vault={"caCertFile": None}),
        "vos-infra:vault.caCertFile",
        "is required: the app containers' Vault Agent sidecars need it",
    ),
    (
        "no sidecar image",
        _dev(vault={"agentImage": None}),
        "vos-infra:vault.agentImage",
        "is required",
    ),
    (
        "a sidecar image by tag in prod",
        {
            **stack_overrides("prod"),
            "vault": {**stack_overrides("prod")["vault"], "agentImage": "openbao/openbao:2.7.2"},
        },
        "vos-infra:vault.agentImage",
        "prod accepts only images pinned by digest",
    ),
    (
        "early renewal longer than validity",
        _dev(tls={"earlyRenewalHours": 5000}),
        "vos-infra:tls.earlyRenewalHours",
        "must be shorter than tls.validityHours",
    ),
    (
        "leaf outlives CA",
        _dev(tls={"validityHours": 20000, "caValidityHours": 8760}),
        "vos-infra:tls.validityHours",
        "cannot outlive the CA",
    ),
    (
        "weak key algorithm",
        _dev(tls={"keyAlgorithm": "RSA-2048"}),
        "vos-infra:tls.keyAlgorithm",
        "'ECDSA-P256', 'RSA-3072' or 'RSA-4096'",
    ),
    (
        "negative rotation counter",
        _dev(rotation={"postgres": -1}),
        "vos-infra:rotation.postgres",
        "greater than or equal to 0",
    ),
    (
        "unknown rotation class",
        _dev(rotation={"postgress": 1}),
        "vos-infra:rotation.postgress",
        "did you mean 'postgres'",
    ),
    (
        "an edge that believes every client's X-Forwarded-For",
        _dev(edge={"trustedProxies": ["10.0.0.0/8", "0.0.0.0/0"]}),
        "vos-infra:edge.trustedProxies[1]",
        "would believe every client",
    ),
    (
        "plain-http vault",
        _dev(vault={"address": "http://127.0.0.1:8200"}),
        "vos-infra:vault.address",
        "not an https:// address",
    ),
    (
        "bad vault mount",
        _dev(vault={"mount": "Secret Store"}),
        "vos-infra:vault.mount",
        "not a valid KV v2 mount name",
    ),
    (
        "dependency disabled",
        _dev(services={"prometheus": {"enabled": False}}, network={"publishedPorts": {}}),
        "vos-infra:services.grafana.enabled",
        "grafana needs prometheus",
    ),
    (
        "agents without their broker",
        _dev(
            services={"rabbitmq": {"enabled": False}, "apiGateway": {"enabled": False}},
            network={"publishedPorts": {}},
        ),
        "vos-infra:services.rabbitmq.enabled",
        "agents need rabbitmq",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_names_the_key_and_the_fix(
    overrides: dict[str, Any], key: str, fragment: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings("teststack", overrides, REGISTRY)
    matching = [p for p in caught.value.problems if p.key.startswith(key) and fragment in p.message]
    assert matching, f"no problem for {key} containing {fragment!r} in:\n{caught.value}"
    for problem in matching:
        assert problem.fix.startswith("pulumi config") or "pulumi config" in problem.fix
        assert problem.key in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    overrides = _dev(
        tls={"earlyRenewalHours": 5000, "keyAlgorithm": "DSA"},
        agents=_agents({"name": "a"}, {"name": "a"}),
        vault={"address": "http://vault"},
        colour="blue",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings("teststack", overrides, REGISTRY)
    keys = set(caught.value.keys)
    assert {
        "vos-infra:tls.earlyRenewalHours",
        "vos-infra:tls.keyAlgorithm",
        "vos-infra:agents[1].name",
        "vos-infra:vault.address",
        "vos-infra:colour",
    } <= keys
    assert str(caught.value).startswith("stack 'teststack' has")


def test_problem_says_where_the_value_came_from() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings("teststack", _dev(tls={"earlyRenewalHours": 5000}), REGISTRY)
    (problem,) = [p for p in caught.value.problems if p.key == "vos-infra:tls.earlyRenewalHours"]
    assert problem.source == "Pulumi.teststack.yaml"
    with pytest.raises(SettingsError) as caught:
        load_settings("teststack", _dev(tls={"validityHours": 100}), REGISTRY)
    (problem,) = [p for p in caught.value.problems if p.key == "vos-infra:tls.earlyRenewalHours"]
    assert problem.source == "stacks/dev.yaml"


def test_enough_distinct_bad_inputs_are_covered() -> None:
    assert len({case[2] for case in BAD_INPUTS}) >= 15


def test_a_null_in_the_stack_takes_away_what_the_profile_sets() -> None:
    overrides = stack_overrides("dev") | {
        "services": {"edge": {"enabled": False}},
        "network": {"publishedPorts": {"edge": None}},
    }
    settings = load_settings("dev", overrides, REGISTRY)
    assert "edge" not in settings.network.published_ports
    assert settings.network.published_ports["grafana"] == 3000  # the rest of the map stays
    # without the null, the profile's publication of the disabled edge is refused
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", stack_overrides("dev") | {"services": {"edge": {"enabled": False}}},
                      REGISTRY)  # fmt: skip
    assert "vos-infra:network.publishedPorts.edge" in caught.value.keys
