"""Every long-running container as the program hardens it (read-only root, no capabilities,
no new privileges, limits, healthy), and a control that the checks see an unhardened one."""

from __future__ import annotations

from tests.docker.checks import file_problems, hardening_problems
from tests.docker.conftest import SERVICES as TIER_SERVICES
from tests.docker.probes import (
    running,
)
from tests.docker.stack import PREFIX, Stack, put
from tools.offline.rendered import File

SERVICES = tuple(d.dns_name for d in TIER_SERVICES)


def test_every_service_runs_read_only_without_capabilities_and_healthy(stack: Stack) -> None:
    client = stack.engine.client()
    services = running(stack)
    assert set(SERVICES) | {"primary-agent", "weather-agent-vault-agent"} <= set(services)
    problems = [p for s in services for p in hardening_problems(client, f"{PREFIX}-{s}")]
    assert problems == []


def test_the_checks_see_an_unhardened_container(stack: Stack) -> None:
    """Control: the client container is none of these things."""
    client = stack.engine.client()
    problems = " ".join(hardening_problems(client, stack.client.name))
    for expected in ("healthy", "writable", "capabilities", "new privileges", "limit", "/"):
        assert expected in problems
    put(stack.client, "/etc/vos/probe", "original")
    wrong = File("/etc/vos/probe", "other", "999", "999", "0400")
    problems = " ".join(file_problems(client, stack.client.name, {wrong.path: wrong}))
    for expected in ("!= ['999', '999', '400']", "content differs", "can change it"):
        assert expected in problems
