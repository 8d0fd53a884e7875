"""The dev stack on a real Docker engine, created the way the Docker provider creates it.

What is real: dockerd 20.10 (Debian), the program's networks, volumes and containers with
every input the program sets, the provider's calls in its order (tests/docker/provider.py),
the uploads, healthchecks, the role job, TLS and authentication between containers.
What is not: the images are stand-ins built from Debian packages (tests/docker/images/*/
Dockerfile says what each emulates and where it differs), and the Pulumi engine is the
SDK's mock runtime (tests/docker/apply.py).

The tests run in file order on one applied stack; the last two update it.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jmespath
import pytest

from components.alloy import files as alloy
from components.docker.container import FILES_ROLE, JobFailed
from components.vault_agent.files import CONF, SECRETS_DIR
from infra.dev_vault import HOST_GATEWAY
from infra.offline.mocks import unwrap
from infra.offline.rendered import File, containers
from infra.settings.images import local_tag
from tests.docker.checks import file_problems, hardening_problems
from tests.docker.conftest import SERVICES as TIER_SERVICES
from tests.docker.provider import BUILD, CONTAINER
from tests.docker.stack import BACKEND, BUILD_CONTEXT, PREFIX, Stack, bridge_gateway, put
from tests.helpers import output
from tests.integration.sockets import machine_addresses, reachable
from tests.integration.vault_server import root_client

SERVICES = tuple(d.dns_name for d in TIER_SERVICES)


def _running(stack: Stack) -> list[str]:
    """Every long-running container of the stack: the services, the agents, the sidecars."""
    return [name for name, c in containers(stack.evaluation).items() if not c.one_shot]


def test_right_after_up_a_refresh_and_a_preview_show_no_change(stack: Stack) -> None:
    """What every create stored (it ends with the provider's Read) is what a refresh reads
    and what the program sets again: a second `up` would do nothing
    (`pulumi preview --expect-no-changes` passes)."""
    assert stack.refresh() == {}
    assert stack.preview() == {}, stack.last_reasons


def test_every_service_runs_read_only_without_capabilities_and_healthy(stack: Stack) -> None:
    client = stack.engine.client()
    running = _running(stack)
    assert set(SERVICES) | {"primary-agent", "weather-agent-vault-agent"} <= set(running)
    problems = [p for s in running for p in hardening_problems(client, f"{PREFIX}-{s}")]
    assert problems == []


def test_each_file_arrives_with_its_owner_and_mode_and_the_service_cannot_change_it(
    stack: Stack,
) -> None:
    rendered, client = containers(stack.evaluation), stack.engine.client()
    problems = [
        p
        for s in _running(stack)
        for p in file_problems(client, f"{PREFIX}-{s}", rendered[s].files)
    ]
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


def test_the_role_job_exited_0_and_no_files_carrier_ever_ran(stack: Stack) -> None:
    job = stack.inspect(f"{PREFIX}-postgres-roles")
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert output(stack.evaluation.named("postgres-roles"), "exitCode") == 0
    carriers = stack.engine.api().containers(all=True, filters={"label": f"vos.role={FILES_ROLE}"})
    jobs = [name for name, c in containers(stack.evaluation).items() if c.one_shot]
    assert sorted(jobs) == ["postgres-roles", "weaviate-roles"]
    assert len(carriers) == len(_running(stack)) + len(jobs)  # and each job's
    for carrier in carriers:
        state = stack.inspect(carrier["Id"])["State"]
        assert state["Status"] == "created" and state["StartedAt"].startswith("0001"), carrier


def _psql(stack: Stack, url: str, sql: str) -> tuple[int, str]:
    return stack.run("psql", url, "-tAc", sql, env={"PGCONNECT_TIMEOUT": "10"})


def _gateway_url(stack: Stack, sslmode: str = "verify-full") -> str:
    password = stack.secret("credentials-api-gateway-postgres-password")
    return (
        f"postgresql://api_gateway:{password}@postgres:5432/vos"
        f"?sslmode={sslmode}&sslrootcert=/ca.crt"
    )


def test_a_service_reaches_postgres_by_name_with_verify_full_and_plaintext_is_refused(
    stack: Stack,
) -> None:
    who = "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()"
    code, out = _psql(stack, _gateway_url(stack), who)
    assert code == 0 and out.strip() == "api_gateway|t", out
    code, out = _psql(stack, _gateway_url(stack, "disable"), "select 1")
    assert code != 0 and "no encryption" in out, out
    wrong = _gateway_url(stack).replace(
        stack.secret("credentials-api-gateway-postgres-password"), "x"
    )
    code, out = _psql(stack, wrong, "select 1")
    assert code != 0 and "password authentication failed" in out, out


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


def _amqp(stack: Stack, user: str, password: str, **env: str) -> tuple[int, str]:
    base = {"PORT": "5671", "TLS": "1", "USER": user, "PASSWORD": password}
    return stack.run("python3", "-c", AMQP, env=base | env)


def test_a_service_reaches_rabbitmq_over_amqps_and_plain_amqp_is_refused(stack: Stack) -> None:
    password = stack.secret("credentials-api-gateway-rabbitmq-password")
    code, out = _amqp(stack, "api-gateway", password, PUBLISH="hello")
    assert code == 0 and "ok" in out, out
    weather = stack.secret("credentials-weather-agent-rabbitmq-password")
    code, out = _amqp(stack, "weather-agent", weather, GET="vos.agent.weather")
    assert code == 0 and "got: hello" in out, out
    for port, tls in (("5672", "0"), ("5671", "0")):  # no plain listener; plain on TLS port
        code, out = _amqp(stack, "api-gateway", password, PORT=port, TLS=tls)
        assert code == 3, (port, out)
    code, out = _amqp(stack, "api-gateway", "wrong-password")
    assert code == 3 and "Authentication" in out, out


def test_only_the_published_port_is_published_and_only_on_the_bind_address(
    stack: Stack,
) -> None:
    published = stack.published
    for service in _running(stack):
        bindings = stack.inspect(f"{PREFIX}-{service}")["HostConfig"]["PortBindings"] or {}
        if service in published:
            expected = [{"HostIp": "127.0.0.1", "HostPort": str(published[service])}]
            internal = containers(stack.evaluation)[service].ports[0]["internal"]
            assert bindings == {f"{int(internal)}/tcp": expected}, service
        else:
            assert bindings == {}, service
    context = ssl.create_default_context(cafile=None)
    context.load_verify_locations(
        cadata=str(output(stack.evaluation.named("pki-ca-cert"), "certPem"))
    )
    key = stack.secret("credentials-api-gateway-weaviate-api-key")
    for token, status in ((None, "401"), (key, "200")):
        with (
            socket.create_connection(("127.0.0.1", stack.published["weaviate"]), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            tls.sendall(f"GET /v1/meta HTTP/1.0\r\n{auth}\r\n".encode())
            assert tls.recv(64).decode().split()[1] == status
    for address in machine_addresses():
        assert not reachable(address, stack.published["weaviate"]), address


CONNECT = (
    "import socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)\n"
)
"""Exit 0 when host argv[1] accepts a TCP connection on port argv[2] within 3 s."""


def test_the_internal_network_reaches_nothing_outside_it(stack: Stack) -> None:
    """Probes go only to this machine's own addresses, to a listener the test opens."""
    gateway = bridge_gateway(stack.engine, BACKEND)
    targets = [*machine_addresses(), gateway]
    with socket.create_server(("0.0.0.0", 0)) as listener:  # noqa: S104
        port = str(listener.getsockname()[1])
        for address in targets:
            code, _ = stack.run("python3", "-c", CONNECT, address, port)
            assert code == 1, f"{address}:{port} reachable from {BACKEND}"
        # Control: the same probe from a container on Docker's default bridge gets through.
        control = stack.engine.client().containers.run(
            stack.client.image.id,
            ["python3", "-c", CONNECT, bridge_gateway(stack.engine, "bridge"), port],
            remove=True,
        )
        assert control == b""
    code, _ = stack.run("python3", "-c", CONNECT, "postgres", "5432")
    assert code == 0  # peers on the network: reachable


def test_erlang_distribution_is_not_reachable_from_the_network(stack: Stack) -> None:
    for port in ("4369", "25672"):  # epmd, distribution
        assert stack.run("python3", "-c", CONNECT, "rabbitmq", port)[0] == 1, port
    assert stack.run("python3", "-c", CONNECT, "rabbitmq", "5671")[0] == 0  # control: AMQPS


APPS = ("api-gateway", "primary-agent", "weather-agent")


def _secret_paths(stack: Stack, app: str) -> list[str]:
    env = containers(stack.evaluation)[app].env
    paths = [v for k, v in env.items() if k.endswith("_FILE") and v.startswith(SECRETS_DIR)]
    keys = env.get("VOS_AGENT_KEY_FILES", "")
    return paths + [pair.split("=", 1)[1] for pair in keys.split(",") if pair]


def _vault_values(stack: Stack, app: str) -> dict[str, str]:
    """Secret file path -> the current value in Vault, read with the root token."""
    root = root_client(stack.vault)
    config = json.loads(containers(stack.evaluation)[f"{app}-vault-agent"].file(CONF))
    found = {}
    for template in config["template"]:
        path = template["contents"].split('"')[1].split("/data/", 1)[1]
        secret = root.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        found[template["destination"]] = secret["data"]["data"]["value"]
    return found


def _read_as_app(stack: Stack, app: str, path: str) -> tuple[int, str]:
    code, out = stack.container(app).exec_run(["cat", path], user="10001:10001")
    return int(code), out.decode()


def test_each_app_reads_the_secrets_its_sidecar_rendered_from_vault_and_cannot_change_them(
    stack: Stack,
) -> None:
    for app in APPS:
        want = _vault_values(stack, app)
        assert sorted(want) == sorted(_secret_paths(stack, app)), app
        container = stack.container(app)
        for path, value in want.items():
            stat = container.exec_run(["stat", "-c", "%u %g %a", path]).output.decode()
            assert stat.split() == ["10001", "10001", "400"], (app, path, stat)
            assert _read_as_app(stack, app, path) == (0, value), (app, path)
        for command in (["touch", f"{SECRETS_DIR}/x"], ["rm", "-f", next(iter(want))]):
            done = container.exec_run(command, user="10001:10001")
            assert done.exit_code != 0 and b"Read-only file system" in done.output, command
        # the values never entered the app's container definition
        inspected = json.dumps(stack.inspect(f"{PREFIX}-{app}")["Config"])
        assert not [v for v in want.values() if v in inspected], app


def _https_get(stack: Stack, path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
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


def test_through_the_edge_the_gateway_logs_in_to_postgres_with_its_run_time_password(
    stack: Stack,
) -> None:
    """The whole path: the published edge (TLS, name localhost) -> the gateway over TLS
    verified by name -> PostgreSQL verify-full with the password its sidecar rendered."""
    status, body, headers = _https_get(stack, "/probe/postgres")
    assert (status, body) == (200, {"user": "api_gateway"}), body
    assert headers.get("Strict-Transport-Security") and headers.get("X-Request-ID")
    status, body, _ = _https_get(stack, "/v1/hello")
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


def _weaviate(stack: Stack, user: str, method: str, path: str, *args: str) -> int:
    key = {
        "vos-admin": "credentials-weaviate-admin-api-key",
        "vos-reader": "credentials-weaviate-reader-api-key",
    }.get(user, f"credentials-{user}-weaviate-api-key")
    code, out = stack.run(
        "python3", "-c", WEAVIATE_CALL, method, path, *args, env={"KEY": stack.secret(key)}
    )
    assert code == 0, out
    return int(out.strip())


def test_the_weaviate_roles_job_ran_and_each_app_reaches_only_its_own_collections(
    stack: Stack,
) -> None:
    job = stack.inspect(f"{PREFIX}-weaviate-roles")
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert output(stack.evaluation.named("weaviate-roles"), "exitCode") == 0
    assert _weaviate(stack, "api-gateway", "POST", "/schema", "ApiGatewayNotes") == 200
    assert _weaviate(stack, "api-gateway", "POST", "/schema", "WeatherAgentNotes") == 403
    assert _weaviate(stack, "weather-agent", "POST", "/schema", "WeatherAgentMemory") == 200
    assert _weaviate(stack, "weather-agent", "GET", "/schema/ApiGatewayNotes") == 403
    assert _weaviate(stack, "primary-agent", "POST", "/objects", "WeatherAgentMemory") == 403
    assert _weaviate(stack, "vos-reader", "GET", "/schema/ApiGatewayNotes") == 200
    assert _weaviate(stack, "vos-reader", "POST", "/schema", "ReaderNotes") == 403
    # control: the platform's admin (root) reaches everything
    assert _weaviate(stack, "vos-admin", "GET", "/schema/WeatherAgentMemory") == 200


def _prometheus(stack: Stack, path: str, auth: bool = True) -> tuple[int, Any]:
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


def test_prometheus_scrapes_every_target_over_verified_tls_and_demands_its_password(
    stack: Stack,
) -> None:
    """Its published endpoint (TLS, name localhost, basic auth), and every target the
    program gave it up: itself, RabbitMQ's two jobs, the gateway and each agent on their
    metrics endpoints, which take only the metrics CA's scrape identity."""
    assert _prometheus(stack, "/api/v1/query?query=up", auth=False)[0] == 401
    wanted = {"prometheus", "rabbitmq", "rabbitmq-queues", *APPS}
    wanted |= {"postgres-exporter", "blackbox-exporter", "blackbox", "alertmanager"}

    def up() -> dict[str, str]:
        status, body = _prometheus(stack, "/api/v1/query?query=up")
        assert status == 200, body
        return {r["metric"]["job"]: r["value"][1] for r in body["data"]["result"]}

    assert _eventually(lambda: up() == dict.fromkeys(wanted, "1"), seconds=90), up()
    _, targets = _prometheus(stack, "/api/v1/targets")
    urls = {t["scrapeUrl"] for t in targets["data"]["activeTargets"]}
    assert urls and all(u.startswith("https://") for u in urls)

    def probes() -> dict[str, str]:
        _, body = _prometheus(stack, "/api/v1/query?query=probe_success")
        return {r["metric"]["instance"]: r["value"][1] for r in body["data"]["result"]}

    # The blackbox exporter completes a verified TLS handshake with every endpoint by name.
    endpoints = {"rabbitmq:5671", "weaviate:8443", "edge:8443", "prometheus:9090"}
    endpoints |= {"alertmanager:9093", *(f"{app}:8443" for app in APPS)}
    assert _eventually(lambda: probes() == dict.fromkeys(endpoints, "1"), seconds=60), probes()
    # PostgreSQL through its exporter, which logs in as the monitor role.
    _, pg_up = _prometheus(stack, "/api/v1/query?query=pg_up")
    assert [r["value"][1] for r in pg_up["data"]["result"]] == ["1"]
    # control: without the scrape identity an app's metrics endpoint refuses the handshake
    probe = (
        "import socket, ssl, sys\n"
        "c = ssl.create_default_context(cafile='/ca.crt')\n"
        "s = c.wrap_socket(socket.create_connection((sys.argv[1], 9464), timeout=5),"
        " server_hostname=sys.argv[1])\n"
        "s.sendall(b'GET /metrics HTTP/1.0\\r\\n\\r\\n'); print(s.recv(12))\n"
    )
    code, out = stack.run("python3", "-c", probe, "weather-agent")
    assert code != 0 and "200" not in out, out


def test_only_the_sidecar_reaches_vault_and_it_reaches_nothing_else(stack: Stack) -> None:
    gateway_ip = bridge_gateway(stack.engine, "bridge")
    port = str(stack.vault.port)
    # the app: no name for Vault, and no route to it
    app = stack.container("api-gateway")
    assert app.exec_run(["getent", "hosts", HOST_GATEWAY]).exit_code != 0
    assert app.exec_run(["python3", "-c", CONNECT, gateway_ip, port]).exit_code == 1
    # the sidecar: Vault at the Docker host gateway, and no peer of the backend network
    sidecar = stack.container("api-gateway-vault-agent")
    found = sidecar.exec_run(["getent", "hosts", HOST_GATEWAY]).output.decode().split()
    assert found[:1] == [gateway_ip], found
    assert sidecar.exec_run(["getent", "hosts", "postgres"]).exit_code != 0


def _container_ids(stack: Stack) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in stack.engine.api().containers(all=True)}


def test_a_rotation_replaces_what_the_provider_replaces_and_keeps_the_data(
    stack: Stack,
) -> None:
    old_pg = stack.secret("credentials-api-gateway-postgres-password")
    old_mq = stack.secret("credentials-api-gateway-rabbitmq-password")
    setup = "create table if not exists notes(body text); insert into notes values ('kept')"
    assert _psql(stack, _gateway_url(stack), setup)[0] == 0
    assert _amqp(stack, "api-gateway", old_mq, PUBLISH="kept across rotation")[0] == 0
    before = _container_ids(stack)

    rotated = stack.update(rotation={"postgres": 1, "rabbitmq": 1})

    replaced = {r.name for r in rotated.of_type(CONTAINER) if r.operation == "replace"}
    jobs, brokers = {"postgres-roles", "postgres-roles-files"}, {"rabbitmq-server"}
    assert replaced == jobs | brokers | {"rabbitmq-server-files"}
    after = _container_ids(stack)
    assert after[f"{PREFIX}-postgres"] == before[f"{PREFIX}-postgres"]  # not restarted
    assert after[f"{PREFIX}-rabbitmq"] != before[f"{PREFIX}-rabbitmq"]
    assert output(rotated.named("postgres-roles"), "exitCode") == 0

    new_pg = stack.secret("credentials-api-gateway-postgres-password")
    assert new_pg != old_pg
    old_url = _gateway_url(stack).replace(new_pg, old_pg)
    assert _psql(stack, old_url, "select 1")[0] != 0
    code, out = _psql(stack, _gateway_url(stack), "select body from notes")
    assert code == 0 and out.strip() == "kept", out

    # No app or sidecar was replaced: the sidecar renders the new version (render interval
    # 30 s) and the app, reading the file again, logs in with it.
    for app in APPS:
        assert after[f"{PREFIX}-{app}"] == before[f"{PREFIX}-{app}"], app
        assert after[f"{PREFIX}-{app}-vault-agent"] == before[f"{PREFIX}-{app}-vault-agent"]
    password_file = containers(rotated)["api-gateway"].env["VOS_POSTGRES_PASSWORD_FILE"]
    assert _eventually(
        lambda: _read_as_app(stack, "api-gateway", password_file) == (0, new_pg), seconds=60
    )
    status, body, _ = _https_get(stack, "/probe/postgres")
    assert (status, body) == (200, {"user": "api_gateway"}), body

    new_mq = stack.secret("credentials-api-gateway-rabbitmq-password")
    weather = stack.secret("credentials-weather-agent-rabbitmq-password")
    # The new broker is healthy once its listener is up; its start script imports the
    # definitions and prunes users right after boot: allow it that moment.
    found: list[tuple[int, str]] = []
    _eventually(
        lambda: (
            found.append(_amqp(stack, "weather-agent", weather, GET="vos.agent.weather"))
            or found[-1][0] != 3
        ),
        seconds=60,
    )
    code, out = found[-1]
    assert code == 0 and "got: kept across rotation" in out, out
    code, out = _amqp(stack, "api-gateway", old_mq)
    assert code == 3 and "Authentication" in out, out  # the broker answers: the old is refused
    assert _amqp(stack, "api-gateway", new_mq)[0] == 0


def test_a_failing_role_job_fails_the_update_and_replacing_it_runs_it_again(
    stack: Stack,
) -> None:
    server = stack.container("postgres")
    server.stop()  # the database is down while the update runs
    with pytest.raises(JobFailed, match=r"postgres-roles exited with code 2.*--replace"):
        stack.update(rotation={"postgres": 2})
    assert stack.inspect(f"{PREFIX}-postgres-roles")["State"]["ExitCode"] == 2
    # The failed job is in the state: `up` again fails the same way ...
    with pytest.raises(JobFailed):
        stack.update()
    # ... until the cause is fixed and the job replaced (`pulumi up --replace <urn>`).
    server.start()
    stack.wait_healthy(server.name)
    updated = stack.update(replace=frozenset({"postgres-roles"}))
    assert output(updated.named("postgres-roles"), "exitCode") == 0
    code, out = _psql(stack, _gateway_url(stack), "select body from notes")
    assert code == 0 and out.strip() == "kept", out


def _eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def test_the_engine_writes_the_log_records_alloy_reads(stack: Stack) -> None:
    """Alloy (no binary here) reads the json-file driver's files, not the engine's socket:
    the records a real engine writes for the program's log options carry each container's
    service, and Alloy's own expressions (components/alloy/files.py) pick them apart."""
    found = {}
    for service in ("postgres", "prometheus"):
        path = Path(stack.inspect(f"{PREFIX}-{service}")["LogPath"])
        assert path.name.endswith("-json.log") and path.parent.parent.name == "containers"
        record = json.loads(path.read_text().splitlines()[-1])
        found[service] = {n: jmespath.search(e, record) for n, e in alloy.EXPRESSIONS.items()}
    for service, picked in found.items():
        assert picked["service"] == service and picked["stack"] == "dev", picked
        assert picked["stream"] in ("stdout", "stderr") and picked["output"] and picked["time"]
