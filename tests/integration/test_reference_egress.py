"""The reference agent's outside calls go through the egress proxy as the contract says:
Debian's Squid from the rendered egress proxy, the reference gateway and weather agent as
processes (tests/integration/reference_apps.py), two local HTTPS "outside" hosts with a
private CA the agent is given as its operator secret EXTRA_CA. A task asks the agent to fetch
a URL; the proxy's allow-list decides what it reaches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import config_with, output, profile, write_private
from tests.integration.proxy_client import outside_server
from tests.integration.reference_apps import (
    ReferenceStack,
    call,
    ready,
    reference_stack,
    wait_until,
)
from tests.integration.sockets import free_port
from tests.integration.squid_server import SquidServer
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig

OUTSIDE, OTHER = "outside.test", "other.test"


@dataclass
class World:
    stack: ReferenceStack
    proxy: SquidServer
    ports: dict[str, int]

    def task(self, text: str) -> dict[str, object]:
        gateway = self.stack.apps["api-gateway"]
        key = (gateway.secret("VOS_API_KEY_FILE")).read_text()
        answer = call(
            gateway, "POST", "/api/v1/agents/weather/tasks", {"X-API-Key": key}, {"input": text}
        )
        assert answer.status == 200, answer.body
        found = answer.json()
        assert isinstance(found, dict)
        return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("reference-egress")
    servers = {name: outside_server(name, folder) for name in (OUTSIDE, OTHER)}
    ports = {name: server.server_port for name, (server, _) in servers.items()}
    agents = [dict(a) for a in profile("dev")["agents"]]
    weather = next(a for a in agents if a["name"] == "weather")
    weather["egress"] = [f"{OUTSIDE}:{ports[OUTSIDE]}"]
    # Both hosts' certificates trusted: what refuses the other host is the proxy, not TLS.
    private_ca = "".join(Path(cert).read_text() for _, cert in servers.values())
    weather["secrets"] = {"EXTRA_CA": private_ca}
    base = config_with("dev", agents=agents)
    # set with `pulumi config set --secret --path`: the engine marks the key secret
    config = StackConfig(base.values, [*base.secret_keys, "vos-infra:agents"])
    evaluation = evaluate("dev", config)
    names = ("egress-proxy", OUTSIDE, OTHER)
    with reference_stack(evaluation, folder, names) as stack:
        proxy = SquidServer(containers(evaluation)["egress-proxy"], stack.hosts, free_port())
        try:
            gateway = stack.prepare("api-gateway", "gateway")
            stack.start(gateway)
            agent = stack.prepare("weather-agent", "agent", proxy_port=proxy.port)
            stack.start(agent)
            for app in (gateway, agent):
                assert wait_until(lambda a=app: ready(a), timeout=60), app.lines()[-20:]
            yield World(stack, proxy, ports)
        finally:
            proxy.stop()
            for server, _ in servers.values():
                server.shutdown()


def _logged(world: World, host: str) -> list[str]:
    return [line for line in world.proxy.access_log() if f"target={host}:" in line]


def test_the_agent_reaches_its_allowed_host_through_the_proxy_with_its_identity(
    world: World,
) -> None:
    url = f"https://{OUTSIDE}:{world.ports[OUTSIDE]}/"
    assert world.task(f"fetch {url}") == {
        "output": f"hello from {OUTSIDE}",
        "status": 200,
        "agent": "weather",
    }
    assert wait_until(lambda: _logged(world, OUTSIDE))
    line = _logged(world, OUTSIDE)[-1]
    assert 'identity="/CN=weather-agent' in line and "result=TCP_TUNNEL" in line, line


def test_another_host_is_refused_by_the_proxy_and_logged_with_the_agents_identity(
    world: World,
) -> None:
    answer = world.task(f"fetch https://{OTHER}:{world.ports[OTHER]}/")
    assert str(answer.get("error", "")).startswith("fetch failed"), answer
    assert "output" not in answer
    assert wait_until(lambda: _logged(world, OTHER))
    line = _logged(world, OTHER)[-1]
    assert 'identity="/CN=weather-agent' in line and "result=TCP_DENIED" in line, line


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://postgres:5432/", "one of the stack's own names"),
        ("https://api-gateway:8443/api/v1/whoami", "one of the stack's own names"),
        ("https://rabbitmq./api/overview", "one of the stack's own names"),
        ("https://10.0.0.1/", "or an address"),
        ("https://[::1]:8443/", "or an address"),
        (f"http://{OUTSIDE}/", "only https"),
        ("https://[x/", "fetch failed"),  # malformed: answered, not lost
    ],
)
def test_a_url_to_the_platforms_insides_or_in_plain_http_is_never_fetched(
    world: World, url: str, why: str
) -> None:
    before = len(world.proxy.access_log())
    answer = world.task(f"fetch {url}")
    assert why in str(answer.get("error", "")), answer
    time.sleep(0.5)
    assert len(world.proxy.access_log()) == before  # not even asked of the proxy


def _fetch_counts(world: World, folder: Path) -> dict[str, float]:
    """outcome -> vos_agent_tool_executions_total of the fetch tool, from /metrics."""
    agent, evaluation = world.stack.apps["weather-agent"], world.stack.evaluation
    cert, key = (
        write_private(folder, name, str(output(evaluation.named(resource), field)))
        for name, resource, field in (
            ("s.crt", "pki-prometheus-scraper-cert", "certPem"),
            ("s.key", "pki-prometheus-scraper-key", "privateKeyPem"),
        )
    )
    text = call(agent, "GET", "/metrics", port=agent.metrics_port, identity=(cert, key)).body
    counts = {}
    for outcome in ("success", "error"):
        series = f'vos_agent_tool_executions_total{{outcome="{outcome}",tool="fetch"}} '
        line = next(x for x in text.decode().splitlines() if x.startswith(series))
        counts[outcome] = float(line.removeprefix(series))
    return counts


def test_the_fetch_tool_counts_each_outcome(world: World, tmp_path: Path) -> None:
    before = _fetch_counts(world, tmp_path)
    world.task(f"fetch https://{OUTSIDE}:{world.ports[OUTSIDE]}/")
    world.task(f"fetch https://{OTHER}:{world.ports[OTHER]}/")
    world.task("fetch https://postgres:5432/")
    after = _fetch_counts(world, tmp_path)
    assert after == {"success": before["success"] + 1, "error": before["error"] + 2}
