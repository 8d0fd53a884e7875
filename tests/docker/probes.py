"""What the tier's modules ask the applied stack: logins to PostgreSQL and RabbitMQ from the
client container, TCP reachability, a GET through the published edge, a file read as the
app's user, and waiting for something to become true."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Callable
from typing import Any

from tests.docker.stack import Stack
from tests.helpers import output
from tools.offline.rendered import containers


def running(stack: Stack) -> list[str]:
    """Every long-running container of the stack: the services, the agents, the sidecars."""
    return [name for name, c in containers(stack.evaluation).items() if not c.one_shot]


def psql(stack: Stack, url: str, sql: str) -> tuple[int, str]:
    return stack.run("psql", url, "-tAc", sql, env={"PGCONNECT_TIMEOUT": "10"})


def gateway_url(stack: Stack, sslmode: str = "verify-full") -> str:
    password = stack.secret("credentials-api-gateway-postgres-password")
    return (
        f"postgresql://api_gateway:{password}@postgres:5432/vos"
        f"?sslmode={sslmode}&sslrootcert=/ca.crt"
    )


AMQP = """
import json, os, ssl, sys, pika
context = ssl.create_default_context(cafile="/ca.crt")
tls = pika.SSLOptions(context, server_hostname="rabbitmq") if os.environ["TLS"] == "1" else None
params = pika.ConnectionParameters(
    host="rabbitmq", port=int(os.environ["PORT"]), virtual_host="vos",
    credentials=pika.PlainCredentials(os.environ["USER"], os.environ["PASSWORD"]),
    ssl_options=tls, connection_attempts=1, socket_timeout=10)
try:
    connection = pika.BlockingConnection(params)
except Exception as error:
    print("refused:", type(error).__name__, error)
    sys.exit(3)
channel = connection.channel()
channel.confirm_delivery()
if os.environ.get("PUBLISH"):
    channel.basic_publish("vos.messages", "agent.weather.task", os.environ["PUBLISH"].encode(),
                          pika.BasicProperties(delivery_mode=2))
if os.environ.get("GET"):
    method, _, body = channel.basic_get(os.environ["GET"], auto_ack=True)
    print("got:", body.decode() if method else None)
connection.close()
print("ok")
"""


def amqp(stack: Stack, user: str, password: str, **env: str) -> tuple[int, str]:
    base = {"PORT": "5671", "TLS": "1", "USER": user, "PASSWORD": password}
    return stack.run("python3", "-c", AMQP, env=base | env)


CONNECT = (
    "import socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)\n"
)
"""Exit 0 when host argv[1] accepts a TCP connection on port argv[2] within 3 s."""


APPS = ("api-gateway", "primary-agent", "weather-agent")


def read_as_app(stack: Stack, app: str, path: str) -> tuple[int, str]:
    code, out = stack.container(app).exec_run(["cat", path], user="10001:10001")
    return int(code), out.decode()


def https_get(stack: Stack, path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """GET through the published edge, trusting only the platform CA, by the name localhost."""
    context = ssl.create_default_context()
    context.load_verify_locations(
        cadata=str(output(stack.evaluation.named("pki-ca-cert"), "certPem"))
    )
    connection = http.client.HTTPSConnection(
        "localhost", stack.published["edge"], context=context, timeout=30
    )
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read()), dict(answer.getheaders())
    finally:
        connection.close()


def eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False
