"""The reference apps' image (apps/Dockerfile) on the real engine: built as a user builds it
(tests/docker/reference_image.py says what stands in for the registry), then run as the
weather agent would be: the agent's own environment, its configuration and secret volumes
(read-only, from the running agent's container), on the backend network, under the
platform's hardening (read-only root, no capability, no new privileges, uid 10001, a private
/tmp). It comes ready (secrets read, RabbitMQ and PostgreSQL reachable as the agent), takes
a task from the gateway's broker user and answers the gateway's queue under its own name."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from tests.docker.conftest import TIMES
from tests.docker.probes import eventually
from tests.docker.reference_image import build_reference_image
from tests.docker.stack import BACKEND, Stack

NAME = "vos-test-reference-weather-agent"
READY = """
import http.client, socket, ssl, sys
context = ssl.create_default_context(cafile="/etc/vos/tls/ca.crt")
raw = socket.create_connection(("127.0.0.1", 8443), timeout=5)
connection = http.client.HTTPSConnection("weather-agent", 8443, context=context)
connection.sock = context.wrap_socket(raw, server_hostname="weather-agent")
connection.request("GET", "/readyz")
answer = connection.getresponse()
print(answer.status, answer.read().decode())
sys.exit(answer.status != 200)
"""
TASK = """
import json, os, ssl, sys, time, pika
context = ssl.create_default_context(cafile="/ca.crt")
params = pika.ConnectionParameters(
    host="rabbitmq", port=5671, virtual_host="vos",
    credentials=pika.PlainCredentials("api-gateway", os.environ["PASSWORD"]),
    ssl_options=pika.SSLOptions(context, server_hostname="rabbitmq"), socket_timeout=10)
connection = pika.BlockingConnection(params)
channel = connection.channel()
channel.confirm_delivery()
ident = os.environ["ID"]
channel.basic_publish("vos.messages", "agent.weather.task", json.dumps({"input": "abc"}).encode(),
    pika.BasicProperties(delivery_mode=2, user_id="api-gateway", correlation_id=ident,
                         content_type="application/json", headers={"x-request-id": ident}))
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    method, properties, body = channel.basic_get("vos.gateway")
    if method is None:
        time.sleep(0.5)
        continue
    if properties.correlation_id == ident:
        channel.basic_ack(method.delivery_tag)
        print(json.dumps({"user_id": properties.user_id, "routing_key": method.routing_key,
                          "body": json.loads(body)}))
        sys.exit(0)
    channel.basic_nack(method.delivery_tag, requeue=True)
sys.exit(4)
"""


@pytest.fixture(scope="module")
def reference(stack: Stack) -> Iterator[Container]:
    started = time.monotonic()
    tag = build_reference_image(stack.engine)
    TIMES["reference image"] = time.monotonic() - started
    agent = stack.inspect(stack.container("weather-agent").id)
    env = [e for e in agent["Config"]["Env"] if not e.startswith("PATH=")]
    container = stack.engine.client().containers.run(
        tag,
        name=NAME,
        environment=env,
        user="10001:10001",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},
        volumes_from=[f"{agent['Id']}:ro"],
        network=BACKEND,
        detach=True,
    )
    try:
        yield container
    finally:
        container.remove(force=True)


def test_the_reference_image_runs_hardened_and_comes_ready(
    stack: Stack, reference: Container
) -> None:
    def ready() -> bool:
        return reference.exec_run(["python3", "-c", READY]).exit_code == 0

    assert eventually(ready, seconds=90), (
        reference.exec_run(["python3", "-c", READY]).output.decode(),
        reference.logs().decode()[-3000:],
    )
    seen = stack.inspect(reference.id)
    assert seen["Config"]["User"] == "10001:10001" and seen["HostConfig"]["ReadonlyRootfs"]
    assert seen["HostConfig"]["CapDrop"] == ["ALL"]
    # It writes nowhere but its /tmp.
    assert reference.exec_run(["touch", "/opt/vos/app/x"]).exit_code != 0


def test_it_takes_a_task_from_the_gateway_and_answers_under_its_own_name(
    stack: Stack, reference: Container
) -> None:
    ident = uuid.uuid4().hex
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = stack.run("python3", "-c", TASK, env={"PASSWORD": password, "ID": ident})
    assert code == 0, (out, reference.logs().decode()[-3000:])
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer == {
        "user_id": "weather-agent",
        "routing_key": "gateway.weather.result",
        "body": {"output": "cba"},
    }
    # Its JSON log line carries the request id the gateway sent.
    time.sleep(0.5)
    lines = [json.loads(x) for x in reference.logs().decode().splitlines() if x.startswith("{")]
    assert any(x.get("msg") == "task" and x.get("request_id") == ident for x in lines), lines[-5:]
