"""The apps at work: a request through the published edge reaches the gateway, which logs in
to PostgreSQL with its run-time password; each agent as its own role; an agent built from
source runs the image built on the engine."""

from __future__ import annotations

from stacks.images import local_tag
from tests.docker.probes import (
    https_get,
)
from tests.docker.provider import BUILD
from tests.docker.stack import BUILD_CONTEXT, PREFIX, Stack
from tools.offline.mocks import unwrap


def test_through_the_edge_the_gateway_logs_in_to_postgres_with_its_run_time_password(
    stack: Stack,
) -> None:
    """The whole path: the published edge (TLS, name localhost) -> the gateway over TLS
    verified by name -> PostgreSQL verify-full with the password its sidecar rendered."""
    status, body, headers = https_get(stack, "/probe/postgres")
    assert (status, body) == (200, {"user": "api_gateway"}), body
    assert headers.get("Strict-Transport-Security") and headers.get("X-Request-ID")
    status, body, _ = https_get(stack, "/v1/hello")
    assert status == 200 and body["service"] == "api-gateway" and body["request_id"]
    # each agent logs in as its own role with its own rendered password
    probe = (
        "import json, ssl, sys, urllib.request\n"
        "c = ssl.create_default_context(cafile='/etc/vos/tls/ca.crt')\n"
        "u = f'https://{sys.argv[1]}:8443/probe/postgres'\n"
        "print(json.load(urllib.request.urlopen(u, context=c, timeout=30))['user'])\n"
    )
    for agent, role in (("primary-agent", "agent_primary"), ("weather-agent", "agent_weather")):
        done = stack.container(agent).exec_run(["python3", "-c", probe, agent])
        assert done.exit_code == 0 and done.output.decode().strip() == role, done.output


def test_an_agent_built_from_source_runs_the_image_built_on_the_engine(stack: Stack) -> None:
    build = next(r for r in stack.evaluation.of_type(BUILD) if r.name.startswith("weather"))
    tag = unwrap(build.inputs)["imageName"]
    assert tag == local_tag(BUILD_CONTEXT, "Dockerfile") and tag.startswith("vos-local/")
    running = stack.inspect(f"{PREFIX}-weather-agent")["Image"]
    assert tag in stack.engine.api().inspect_image(running)["RepoTags"]
    # the other agent runs the image it names
    other = stack.inspect(f"{PREFIX}-primary-agent")["Image"]
    assert "vos/primary-agent:1.0.0" in stack.engine.api().inspect_image(other)["RepoTags"]
