"""The container rules hold for the Swarm target's services: a docker.Service as the renderer
(components/swarm/service.py) makes it passes every one of them, and each way a service can
break a rule is reported by that rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from pulumi.runtime import rpc
from pulumi_policy.proxy import unknown_checking_proxy
from vos_policies import RULES
from vos_policies.rule import NETWORK, SERVICE, Rule, Subject

from components.docker.spec import ContainerSpec, Healthcheck, Upload, tmpfs_options
from components.swarm.networks import SwarmNetworks
from components.swarm.placement import swarm_placement
from components.swarm.service import hardened_service
from tools.offline.mocks import unwrap
from tools.offline.runner import evaluate

CONTAINER_RULES = [r for r in RULES if r.group == "containers"]
ENGINES = {"enginesSetNoNewPrivileges": True}


def _rendered() -> dict[str, dict[str, Any]]:
    """The inputs of what the renderer makes from hardened specs, as registered, by name: an
    app (`svc`), a stateful service (`db`), the edge (`edge`) and the overlays."""

    def program() -> None:
        networks = SwarmNetworks("networks", "vos-dev", encrypted=True, egress=False)
        spec = ContainerSpec(
            service="svc", image="registry.example/svc:1@sha256:" + "0" * 64,
            command=["svc"], user="999:999", env={"MODE": "production"},
            uploads=[Upload("/etc/vos/svc.conf", "a = 1\n", 999),
                     Upload("/etc/vos/tls/server.key", "key", 999, "0400", secret=True)],
            tmpfs={"/tmp": tmpfs_options(999)},
            healthcheck=Healthcheck(["probe"]),
        )  # fmt: skip
        placement = swarm_placement(spec, name_prefix="vos-dev", stack="dev",
                                    networks=[networks.backend.id], memory_mb=256, cpus=0.5,
                                    endpoint_mode="vip", replicas=2, app=True,
                                    app_nodes=2)  # fmt: skip
        hardened_service("svc", spec, placement, networks)
        common: dict[str, Any] = {"name_prefix": "vos-dev", "stack": "dev", "memory_mb": 256,
                                  "cpus": 0.5, "endpoint_mode": "vip"}  # fmt: skip
        db = replace(spec, service="db", data_volume="/data")
        hardened_service("db", db, swarm_placement(db, networks=[networks.backend.id],
                                                   **common), networks)  # fmt: skip
        edge = replace(spec, service="edge")
        edge_placement = swarm_placement(edge, networks=[networks.edge.id], published=(443, 8443),
                                         **common)  # fmt: skip
        hardened_service("edge", edge, edge_placement, networks)

    evaluation = evaluate("dev", program=program)
    return {r.name: unwrap(r.inputs) for r in evaluation.registrations
            if r.type in (SERVICE, NETWORK)}  # fmt: skip


ALL = _rendered()
RENDERED = ALL["svc"]
SWARM_RULES = [r for r in RULES if r.group == "swarm"]


def test_what_the_renderer_makes_passes_the_swarm_rules() -> None:
    failed: dict[tuple[str, str], list[str]] = {}
    for name, props in ALL.items():
        type_ = NETWORK if "driver" in props else SERVICE
        for rule in SWARM_RULES:
            if type_ in rule.types:
                subject = Subject(type_, name, f"urn:{name}", unknown_checking_proxy(props),
                                  rule.settings({}), {})  # fmt: skip
                found = list(rule.violations(subject))
                if found:
                    failed[(name, rule.name)] = found
    assert failed == {}
    assert {"svc", "db", "edge", "networks-backend"} <= set(ALL)


def _violations(rule: Rule, props: dict[str, Any], config: dict[str, Any]) -> list[str]:
    subject = Subject(SERVICE, "svc", "urn:svc", unknown_checking_proxy(props),
                      rule.settings(config), {})  # fmt: skip
    return list(rule.violations(subject))


def test_a_rendered_service_passes_every_container_rule() -> None:
    failed = {r.name: _violations(r, RENDERED, ENGINES) for r in CONTAINER_RULES}
    assert {name: found for name, found in failed.items() if found} == {}


def test_no_new_privileges_rests_on_the_engines_and_the_pack_must_be_told() -> None:
    [rule] = [r for r in CONTAINER_RULES if r.name == "no-new-privileges"]
    [message] = _violations(rule, RENDERED, {})
    assert "daemon.json" in message


def _spec(props: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = props["taskSpec"]["containerSpec"]
    return spec


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "read-only-root-filesystem": lambda p: _spec(p).update(readOnly=False),
    "drop-all-capabilities": lambda p: _spec(p).update(capDrops=["NET_RAW"]),
    "no-dangerous-capabilities": lambda p: _spec(p).update(capAdds=["SYS_ADMIN"]),
    "non-root-user": lambda p: _spec(p).update(user="0:0"),
    "memory-limit": lambda p: p["taskSpec"]["resources"]["limits"].pop("memoryBytes"),
    "cpu-limit": lambda p: p["taskSpec"]["resources"]["limits"].pop("nanoCpus"),
    "healthcheck-defined": lambda p: _spec(p).pop("healthcheck"),
    "restart-policy": lambda p: p["taskSpec"]["restartPolicy"].update(condition="none"),
    "log-rotation": lambda p: p["taskSpec"]["logDriver"]["options"].pop("max-size"),
    "user-defined-network": lambda p: p["taskSpec"].pop("networksAdvanceds"),
    "no-container-engine-socket": lambda p: _spec(p).update(mounts=[
        {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}]),
    "no-sensitive-host-paths": lambda p: _spec(p).update(mounts=[
        {"type": "bind", "source": "/etc", "target": "/host-etc", "readOnly": True}]),
    "no-shared-mount-propagation": lambda p: _spec(p).update(mounts=[
        {"type": "bind", "source": "/srv/data", "target": "/data",
         "bindOptions": {"propagation": "rshared"}}]),
}  # fmt: skip


ALSO = {"no-container-engine-socket": {"no-sensitive-host-paths"}}
"""The engine's socket lies under /var/run, a sensitive host folder as well."""


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_way_to_break_a_rule_is_reported_by_that_rule(name: str) -> None:
    broken = copy.deepcopy(RENDERED)
    BROKEN[name](broken)
    failed = {r.name for r in CONTAINER_RULES if _violations(r, broken, ENGINES)}
    assert failed == {name} | ALSO.get(name, set())


def test_an_unknown_container_spec_fails_closed() -> None:
    unknown = copy.deepcopy(RENDERED)
    unknown["taskSpec"]["containerSpec"]["readOnly"] = rpc.UNKNOWN
    [rule] = [r for r in CONTAINER_RULES if r.name == "read-only-root-filesystem"]
    assert _violations(rule, unknown, ENGINES)
