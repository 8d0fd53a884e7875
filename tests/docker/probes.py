"""What the tier's modules ask the applied stack: logins to PostgreSQL and RabbitMQ from the
client container, TCP reachability, a GET through the published edge, a file read as the
app's user, and waiting for something to become true."""

from __future__ import annotations

import base64
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
import json, os, ssl, sys, time, pika
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
if os.environ.get("FLOOD"):  # routing_key=N: N persistent messages, each confirmed or refused
    key, _, count = os.environ["FLOOD"].partition("=")
    taken = refused = 0
    for number in range(int(count)):
        try:
            channel.basic_publish("vos.messages", key, b"%d" % number,
                                  pika.BasicProperties(delivery_mode=2))
            taken += 1
        except pika.exceptions.NackError:
            refused += 1
    print(f"taken={taken} refused={refused}")
if os.environ.get("PURGE"):
    channel.queue_purge(os.environ["PURGE"])
if os.environ.get("GET"):
    method, _, body = channel.basic_get(os.environ["GET"], auto_ack=True)
    print("got:", body.decode() if method else None)
if os.environ.get("FIND"):  # queue=body: take messages until that one (30 s at most)
    queue, _, wanted = os.environ["FIND"].partition("=")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.5)
        elif body.decode() == wanted:
            death = (properties.headers or {}).get("x-death") or [{}]
            print("found, dead-lettered from:", death[0].get("queue"), death[0].get("reason"))
            break
connection.close()
print("ok")
"""


def amqp(stack: Stack, user: str, password: str, **env: str) -> tuple[int, str]:
    base = {"PORT": "5671", "TLS": "1", "USER": user, "PASSWORD": password}
    return stack.run("python3", "-c", AMQP, env=base | env)


def dead_lettered(stack: Stack, body: str) -> tuple[int, str]:
    """Find `body` in the dead-letter queue, as the broker's admin (the only reader)."""
    admin = stack.secret("credentials-rabbitmq-admin-password")
    return amqp(stack, "vos_admin", admin, FIND=f"vos.dead-letter={body}")


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


def api_key(stack: Stack) -> str:
    """The client API key as the gateway's sidecar rendered it."""
    path = containers(stack.evaluation)["api-gateway"].env["VOS_API_KEY_FILE"]
    code, key = read_as_app(stack, "api-gateway", path)
    assert code == 0 and key, key
    return key


def https_call(
    stack: Stack,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A request through the published edge (a JSON body, if any); the status, the JSON
    answer and the headers."""
    context = ssl.create_default_context()
    context.load_verify_locations(
        cadata=str(output(stack.evaluation.named("pki-ca-cert"), "certPem"))
    )
    connection = http.client.HTTPSConnection(
        "localhost", stack.published["edge"], context=context, timeout=30
    )
    sent = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(
            method, path, json.dumps(body) if body is not None else None, sent | (headers or {})
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}"), dict(answer.getheaders())
    finally:
        connection.close()


READY = """
import http.client, os, socket, ssl, sys
context = ssl.create_default_context(cafile=os.environ["VOS_TLS_CA_FILE"])
name, port = os.environ["VOS_SERVICE_NAME"], int(os.environ["VOS_HTTPS_PORT"])
connection = http.client.HTTPSConnection(name, port, context=context, timeout=10)
connection.sock = context.wrap_socket(
    socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=name)
connection.request("GET", "/readyz")
answer = connection.getresponse()
print(answer.status, answer.read().decode())
sys.exit(answer.status != 200)
"""
"""Run in an app's container: its own /readyz over TLS, verified by its own name."""


def app_ready(stack: Stack, app: str) -> tuple[bool, str]:
    done = stack.container(app).exec_run(["python3", "-c", READY], user="10001:10001")
    return done.exit_code == 0, done.output.decode(errors="replace")


def prometheus_api(stack: Stack, path: str, auth: bool = True) -> tuple[int, Any]:
    """Prometheus's HTTP API through its published port (TLS, its admin password)."""
    context = ssl.create_default_context()
    context.load_verify_locations(
        cadata=str(output(stack.evaluation.named("pki-ca-cert"), "certPem"))
    )
    connection = http.client.HTTPSConnection(
        "localhost", stack.published["prometheus"], context=context, timeout=30
    )
    password = stack.secret("credentials-prometheus-admin-password")
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    try:
        connection.request("GET", path, headers={"Authorization": f"Basic {token}"} if auth else {})
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, json.loads(body) if answer.status == 200 else body
    finally:
        connection.close()


WEAVIATE_CALL = """
import json, os, ssl, sys, urllib.error, urllib.request
context = ssl.create_default_context(cafile="/ca.crt")
method, path = sys.argv[1], sys.argv[2]
body = json.dumps({"class": sys.argv[3]}).encode() if len(sys.argv) > 3 else None
request = urllib.request.Request("https://weaviate:8443/v1" + path, data=body, method=method,
    headers={"Authorization": "Bearer " + os.environ["KEY"], "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(request, context=context, timeout=20).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def weaviate_status(stack: Stack, user: str, method: str, path: str, *args: str) -> int:
    """A Weaviate REST call from the client container as `user` (an app, vos-admin or
    vos-reader, with its API key); the HTTP status."""
    key = {
        "vos-admin": "credentials-weaviate-admin-api-key",
        "vos-reader": "credentials-weaviate-reader-api-key",
    }.get(user, f"credentials-{user}-weaviate-api-key")
    code, out = stack.run(
        "python3", "-c", WEAVIATE_CALL, method, path, *args, env={"KEY": stack.secret(key)}
    )
    assert code == 0, out
    return int(out.strip())


def eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False
