"""The Swarm target's settings (stacks/rules/swarm.py): a stack that a Swarm cannot run, or
that prod would run on one node's luck, is refused at preview with the key and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import stack_overrides

EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 (what a Swarm's host-mode publishing binds)
ENTRY_ONLY = {"edge": 8443, "grafana": None, "prometheus": None}
"""Only the edge: a null removes what the profile publishes."""
IMAGE = "registry.example:5000/vos/app:1.0.0@sha256:" + "a" * 64


def _swarm_dev(**changes: Any) -> dict[str, Any]:
    """Dev on a Swarm as its operator would first write it: apps from a registry, only the
    edge published, on every address."""
    dev = stack_overrides("dev")
    return (
        dev
        | {
            "target": "swarm",
            "services": {"apiGateway": {"image": IMAGE}},  # replaces the profile's build
            "agents": [{"name": "primary", "image": IMAGE, "memoryMb": 256, "cpus": 0.5}],
            "network": {"bindAddress": EVERY_ADDRESS, "publishedPorts": ENTRY_ONLY},
        }
        | changes
    )


def _problems(environment: str, overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environment, overrides, REGISTRY)
    return {p.key: f"{p.message} | {p.fix}" for p in caught.value.problems}


def test_a_swarm_stack_as_its_operator_writes_it_loads() -> None:
    settings = load_settings("dev", _swarm_dev(), REGISTRY)
    assert settings.target == "swarm" and settings.swarm.endpoint_mode == "vip"
    assert settings.swarm.encrypted_overlays is True
    assert [a.replicas for a in settings.agents] == [1]
    assert load_settings("dev", stack_overrides("dev"), REGISTRY).target == "docker"


def test_an_image_built_on_one_host_is_refused_on_a_swarm() -> None:
    problems = _problems("dev", _swarm_dev(services={}))  # the profile's gateway build stays
    fix = problems["vos-infra:services.apiGateway.build"]
    assert "other nodes cannot run it" in fix
    assert "pulumi config rm --path 'vos-infra:services.apiGateway.build'" in fix
    assert "'vos-infra:services.apiGateway.image'" in fix


def test_only_the_entry_is_published_and_on_every_address() -> None:
    network = {"bindAddress": "127.0.0.1", "publishedPorts": {"edge": 8443, "grafana": 3000}}
    problems = _problems("dev", _swarm_dev(network=network))
    assert (
        "only the platform's entry (edge)" in problems["vos-infra:network.publishedPorts.grafana"]
    )
    assert EVERY_ADDRESS in problems["vos-infra:network.bindAddress"]
    assert "vos-infra:network.publishedPorts.edge" not in problems


def test_replicas_need_a_swarm() -> None:
    agents = [{"name": "primary", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.5,
               "replicas": 3}]  # fmt: skip
    problems = _problems("dev", stack_overrides("dev") | {"agents": agents})
    assert "one container per app" in problems["vos-infra:agents[0].replicas"]
    assert "vos-infra:target swarm" in problems["vos-infra:agents[0].replicas"]
    spread = _swarm_dev(agents=agents, swarm={"appNodes": 2})
    assert load_settings("dev", spread, REGISTRY).agents[0].replicas == 3


def test_prod_on_a_swarm_keeps_two_gateways_and_encrypted_overlays() -> None:
    prod = stack_overrides("prod")
    published = {**prod["network"].get("publishedPorts", {}), "grafana": None}
    network = {**prod["network"], "bindAddress": EVERY_ADDRESS, "publishedPorts": published}
    overrides = prod | {
        "target": "swarm",
        "network": network,
        "swarm": {"encryptedOverlays": False, "endpointMode": "dnsrr", "appNodes": 2},
    }
    problems = _problems("prod", overrides)
    assert "2 tasks or more" in problems["vos-infra:services.apiGateway.replicas"]
    assert "IPsec" in problems["vos-infra:swarm.encryptedOverlays"]
    gateway = {**prod["services"]["apiGateway"], "replicas": 2}
    fixed = overrides | {"swarm": {"endpointMode": "dnsrr", "appNodes": 2},
                         "services": {**prod["services"], "apiGateway": gateway}}  # fmt: skip
    settings = load_settings("prod", fixed, REGISTRY)
    assert settings.service("apiGateway").replicas == 2  # type: ignore[attr-defined]
    assert settings.swarm.endpoint_mode == "dnsrr"


def test_an_app_with_replicas_needs_the_number_of_app_nodes_and_prod_two() -> None:
    agents = [{"name": "primary", "image": IMAGE, "memoryMb": 256, "cpus": 0.5, "replicas": 2}]
    fix = _problems("dev", _swarm_dev(agents=agents))["vos-infra:swarm.appNodes"]
    assert "vos-infra:agents[0].replicas is 2" in fix and "kept apart" in fix
    assert "pulumi config set --path 'vos-infra:swarm.appNodes' 2" in fix
    assert "swarm_labels apps" in fix
    placed = load_settings("dev", _swarm_dev(agents=agents, swarm={"appNodes": 3}), REGISTRY)
    assert placed.swarm.app_nodes == 3
    assert load_settings("dev", _swarm_dev(), REGISTRY).swarm.app_nodes is None  # one task each
    prod = stack_overrides("prod")
    gateway = {**prod["services"]["apiGateway"], "image": IMAGE, "replicas": 2}
    network = {
        **prod["network"],
        "bindAddress": EVERY_ADDRESS,
        "publishedPorts": {**prod["network"].get("publishedPorts", {}), "grafana": None},
    }
    one = prod | {"target": "swarm", "swarm": {"appNodes": 1}, "network": network,
                  "services": {**prod["services"], "apiGateway": gateway}}  # fmt: skip
    problems = _problems("prod", one)
    assert "2 nodes or more" in problems["vos-infra:swarm.appNodes"]
    assert list(problems) == ["vos-infra:swarm.appNodes"], problems
    assert load_settings("prod", one | {"swarm": {"appNodes": 2}}, REGISTRY).swarm.app_nodes == 2
    assert "vos-infra:swarm.appNodes" in _problems("dev", _swarm_dev(swarm={"appNodes": 0}))


def test_a_wrong_target_or_endpoint_mode_names_the_choices() -> None:
    problems = _problems("dev", _swarm_dev(target="k8s", swarm={"endpointMode": "ipvs"}))
    assert "docker" in problems["vos-infra:target"] and "swarm" in problems["vos-infra:target"]
    assert "dnsrr" in problems["vos-infra:swarm.endpointMode"]
