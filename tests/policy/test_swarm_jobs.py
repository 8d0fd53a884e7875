"""The container rules hold for the Swarm target's one-shot jobs (components/swarm/job.py, a
task template in the Engine API's names): what the renderer makes passes every one of them,
and each way a job can break one is reported by that rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy.proxy import unknown_checking_proxy
from vos_policies import RULES
from vos_policies.rule import SERVICE, SWARM_JOB, Rule, Subject

from components.docker.spec import ContainerSpec, Upload, tmpfs_options
from components.swarm.job import swarm_job
from components.swarm.placement import swarm_placement
from tools.offline.mocks import unwrap
from tools.offline.runner import evaluate

CONTAINER_RULES = [r for r in RULES if r.group == "containers"]
ENGINES = {"enginesSetNoNewPrivileges": True}


def _rendered() -> dict[str, Any]:
    def program() -> None:
        spec = ContainerSpec(
            service="roles", image="registry.example/pg:17@sha256:" + "0" * 64,
            command=["psql", "-f", "/etc/vos/roles.sql"], user="999:999",
            uploads=[Upload("/etc/vos/roles.sql", "select 1;", 999, "0400", secret=True),
                     Upload("/etc/vos/tls/ca.crt", "ca", 999)],
            tmpfs={"/tmp": tmpfs_options(999)}, one_shot=True,
        )  # fmt: skip
        placement = swarm_placement(spec, name_prefix="vos-dev", stack="dev", networks=["n1"],
                                    memory_mb=64, cpus=0.25, endpoint_mode="vip")  # fmt: skip
        swarm_job("roles", spec, placement, None)  # type: ignore[arg-type]

    [job] = [r for r in evaluate("dev", program=program).registrations if r.type == SWARM_JOB]
    found: dict[str, Any] = unwrap(job.inputs)
    return found


RENDERED = _rendered()


def _violations(rule: Rule, props: dict[str, Any], config: dict[str, Any]) -> list[str]:
    subject = Subject(SWARM_JOB, "roles", "urn:roles", unknown_checking_proxy(props),
                      rule.settings(config), {})  # fmt: skip
    return list(rule.violations(subject))


def test_a_rendered_job_passes_every_container_rule() -> None:
    failed = {r.name: _violations(r, RENDERED, ENGINES) for r in CONTAINER_RULES}
    assert {name: found for name, found in failed.items() if found} == {}
    # Every rule a Swarm service is held to (the rest judge the provider, not a container).
    assert all(SWARM_JOB in r.types for r in CONTAINER_RULES if SERVICE in r.types)


def test_no_new_privileges_rests_on_the_engines() -> None:
    [rule] = [r for r in CONTAINER_RULES if r.name == "no-new-privileges"]
    [message] = _violations(rule, RENDERED, {})
    assert "daemon.json" in message


def _spec(props: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = props["task_template"]["ContainerSpec"]
    return spec


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "read-only-root-filesystem": lambda p: _spec(p).update(ReadOnly=False),
    "drop-all-capabilities": lambda p: _spec(p).update(CapabilityDrop=["NET_RAW"]),
    "no-dangerous-capabilities": lambda p: _spec(p).update(CapabilityAdd=["SYS_ADMIN"]),
    "non-root-user": lambda p: _spec(p).update(User="0:0"),
    "memory-limit": lambda p: p["task_template"]["Resources"]["Limits"].pop("MemoryBytes"),
    "cpu-limit": lambda p: p["task_template"]["Resources"]["Limits"].pop("NanoCPUs"),
    "restart-policy": lambda p: p["task_template"]["RestartPolicy"].update(Condition="any"),
    "log-rotation": lambda p: p["task_template"]["LogDriver"]["Options"].pop("max-size"),
    "user-defined-network": lambda p: p["task_template"].pop("Networks"),
    "no-container-engine-socket": lambda p: _spec(p)["Mounts"].append(
        {"Type": "bind", "Source": "/run/docker.sock", "Target": "/run/docker.sock"}),
}  # fmt: skip
ALSO = {"no-container-engine-socket": {"no-sensitive-host-paths"}}
"""The engine's socket lies under /run, a sensitive host folder as well."""


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_way_to_break_a_rule_is_reported_by_that_rule(name: str) -> None:
    broken = copy.deepcopy(RENDERED)
    BROKEN[name](broken)
    failed = {r.name for r in CONTAINER_RULES if _violations(r, broken, ENGINES)}
    assert failed == {name} | ALSO.get(name, set())
