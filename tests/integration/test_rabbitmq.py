"""RabbitMQ started with exactly the files the program renders, probed with real clients.

What runs: Debian's rabbitmq-server as the rabbitmq account, with the rendered
rabbitmq.conf, conf.d, enabled_plugins, definitions, certificates and Erlang cookie.
Remapped for the test: /etc/vos and the data volume -> temporary folders, the three TLS
ports -> free loopback ports, a private node name and Erlang distribution ports.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
from ipaddress import ip_address

import pika
import pika.exceptions
import pytest
import urllib3

from components.rabbitmq.files import DISK_FREE_LIMIT_MIB, memory_watermark_bytes
from components.rabbitmq.users import APP_QUEUE_LIMIT
from tests.helpers import output, profile
from tests.integration.rabbitmq_clients import PROFILE, Broker, confirmed, refused
from tests.integration.sockets import listening_addresses, machine_addresses, reachable
from tests.integration.tls_probe import handshake
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import with_overrides


def test_only_tls_listeners_are_open(broker: Broker) -> None:
    listeners = broker.server.listeners()
    protocols = {str(listener["protocol"]) for listener in listeners}
    # no plain "amqp", "http" or "http/prometheus" listener at all
    assert protocols == {"amqp/ssl", "https", "https/prometheus", "clustering"}, listeners


def test_guest_cannot_log_in_remotely(broker: Broker) -> None:
    users = broker.server.ctl("list_users", "--silent")
    assert "guest" not in users.stdout and "vos_admin" in users.stdout
    loopback = broker.server.ctl("eval", "application:get_env(rabbit, loopback_users).")
    assert '<<"guest">>' in loopback.stdout  # the image's conf.d override did not apply
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        broker.connect("guest", "guest")


def test_verified_amqps_and_messages_flow_between_services(broker: Broker) -> None:
    broker.publish("agent.weather.task", b"forecast please")
    with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
        method, _, body = agent.channel().basic_get("vos.agent.weather", auto_ack=True)
        assert method is not None and body == b"forecast please"


@pytest.mark.parametrize(
    ("user", "secret_of"),
    [("api-gateway", None), ("nobody", "api-gateway")],
    ids=["wrong password", "unknown user"],
)
def test_bad_credentials_arerefused(broker: Broker, user: str, secret_of: str | None) -> None:
    password = broker.password(secret_of) if secret_of else "wrong-password-1"
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        broker.connect(user, password)


def test_plain_amqp_on_the_tls_port_isrefused(broker: Broker) -> None:
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        broker.connect("api-gateway", broker.password("api-gateway"), tls=False)


def test_untrusted_ca_isrefused(broker: Broker) -> None:
    other = evaluate("dev", PROFILE)
    ca = broker.write("other-ca.crt", output(other.named("pki-ca-cert"), "certPem"))
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        broker.connect("api-gateway", broker.password("api-gateway"), ca=ca)


def test_tls_1_1_is_refused_and_1_2_accepted(broker: Broker) -> None:
    assert handshake(broker.server.amqps, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(broker.server.amqps, ssl.TLSVersion.TLSv1_1)


def test_management_api_is_https_and_authenticated(broker: Broker) -> None:
    port = broker.server.management
    assert broker.https(port, "/api/whoami", ("vos_admin", broker.admin_password())).status == 200
    assert broker.https(port, "/api/whoami").status == 401
    # service users have no management tag
    assert (
        broker.https(port, "/api/whoami", ("api-gateway", broker.password("api-gateway"))).status
        == 401
    )
    plain = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.ProtocolError):  # a TLS listener, no HTTP answer
        plain.request("GET", f"http://127.0.0.1:{port}/api/whoami", timeout=5)


def test_prometheus_endpoint_requires_a_client_certificate(broker: Broker) -> None:
    ev = broker.evaluation
    cert = broker.write("scraper.crt", output(ev.named("pki-prometheus-scraper-cert"), "certPem"))
    key = broker.write(
        "scraper.key", output(ev.named("pki-prometheus-scraper-key"), "privateKeyPem")
    )
    metrics = broker.https(broker.server.prometheus, "/metrics", client_cert=(cert, key))
    assert metrics.status == 200 and b"rabbitmq_" in metrics.data
    with pytest.raises(urllib3.exceptions.HTTPError):
        broker.https(broker.server.prometheus, "/metrics")


def test_prometheus_endpoint_refuses_every_identity_but_the_scrapers(broker: Broker) -> None:
    # A valid client certificate of the platform CA (the PostgreSQL admin's) and a server
    # certificate of the platform CA: real identities of the platform, not the scraper's.
    ev = broker.evaluation
    for name in ("postgres-admin", "api-gateway"):
        cert = broker.write(f"{name}.crt", output(ev.named(f"pki-{name}-cert"), "certPem"))
        key = broker.write(f"{name}.key", output(ev.named(f"pki-{name}-key"), "privateKeyPem"))
        with pytest.raises(urllib3.exceptions.HTTPError):
            broker.https(broker.server.prometheus, "/metrics", client_cert=(cert, key))
    # The same broker still serves AMQPS and management with the platform CA.
    port = broker.server.management
    assert broker.https(port, "/api/whoami", ("vos_admin", broker.admin_password())).status == 200


def test_an_agent_can_do_its_job_and_nothing_else(broker: Broker) -> None:
    password = broker.password("weather-agent")
    with broker.connect("weather-agent", password) as agent:
        assert "ACCESS_REFUSED" in refused(lambda: agent.channel().basic_get("vos.agent.primary"))
        assert "ACCESS_REFUSED" in refused(lambda: agent.channel().queue_declare("weather-private"))
        assert "ACCESS_REFUSED" in refused(
            lambda: confirmed(agent).basic_publish("", "vos.agent.primary", b"x")
        )
        channel = confirmed(agent)
        channel.basic_publish("vos.messages", "gateway.weather.reply", b"sunny")
        assert channel.basic_get("vos.agent.weather")[0] is None  # its own queue: allowed
    with pytest.raises(
        (pika.exceptions.ProbableAccessDeniedError, pika.exceptions.ConnectionClosedByBroker)
    ):
        broker.connect("weather-agent", password, vhost="/")


def test_rotation_new_password_works_old_refused_messages_kept(broker: Broker) -> None:
    old = broker.password("weather-agent")
    broker.publish("agent.weather.task", b"kept across rotation")

    rotated = evaluate("dev", with_overrides(PROFILE, rotation={"rabbitmq": 1}), state=broker.state)
    assert "rabbitmq-server" in {r.name for r in rotated.registrations if r.operation == "replace"}
    # the replaced container: same data volume, new files, definitions loaded at boot
    broker.server.stop()
    broker.server.install(containers(rotated)["rabbitmq"])
    broker.server.start()
    broker.evaluation = rotated

    new = broker.password("weather-agent")
    assert new != old
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        broker.connect("weather-agent", old)
    with broker.connect("weather-agent", new) as agent:
        method, _, body = agent.channel().basic_get("vos.agent.weather", auto_ack=True)
        assert method is not None and body == b"kept across rotation"


def test_erlang_distribution_listens_on_loopback_only(broker: Broker) -> None:
    """epmd and the distribution port, with the interface the rendered files choose (the
    harness remaps only their port numbers)."""
    server = broker.server
    for port in (server.epmd, server.dist):
        addresses = listening_addresses(port)
        assert addresses and all(ip_address(a).is_loopback for a in addresses), (port, addresses)
        for address in machine_addresses():
            assert not reachable(address, port), (address, port)
    # Control: the probe does reach a listener on those addresses.
    with socket.create_server(("0.0.0.0", 0)) as control:  # noqa: S104
        port = control.getsockname()[1]
        assert all(reachable(address, port) for address in machine_addresses())


def test_the_node_runs_with_the_rendered_erlang_cookie(broker: Broker) -> None:
    cookie = containers(broker.evaluation)["rabbitmq"].file("/var/lib/rabbitmq/.erlang.cookie")
    seen = broker.server.ctl("eval", "erlang:get_cookie().")
    # An atom prints quoted unless it starts with a lowercase letter.
    assert seen.returncode == 0 and seen.stdout.strip().strip("'") == cookie, seen.stderr
    wrong = broker.server.ctl("--erlang-cookie", "not-the-cookie", "status")
    assert wrong.returncode != 0


def _publish(broker: Broker, user: str, key: str, user_id: str | None = None) -> str:
    """Publish as `user` with confirms; "ok" or the broker's refusal."""
    with broker.connect(user, broker.password(user)) as connection:
        properties = pika.BasicProperties(user_id=user_id)
        try:
            confirmed(connection).basic_publish("vos.messages", key, b"x", properties)
        except pika.exceptions.ChannelClosedByBroker as error:
            return f"{error.reply_code} {error.reply_text}"
    return "ok"


def test_an_agent_publishes_only_its_own_routing_keys(broker: Broker) -> None:
    """Topic permissions: an agent answers the gateway under its own name only."""
    assert _publish(broker, "weather-agent", "gateway.weather.forecast") == "ok"  # control
    refused = _publish(broker, "weather-agent", "agent.primary.task")  # into another agent
    assert refused.startswith("403") and "access to topic 'agent.primary.task'" in refused
    assert _publish(broker, "weather-agent", "gateway.primary.forecast").startswith("403")
    assert _publish(broker, "api-gateway", "agent.weather.task") == "ok"  # control
    assert _publish(broker, "api-gateway", "gateway.weather.forecast").startswith("403")
    # what the agent was allowed to send reached the gateway, and only that
    with broker.connect("api-gateway", broker.password("api-gateway")) as gateway:
        keys = []
        while (message := gateway.channel().basic_get("vos.gateway", auto_ack=True))[0]:
            keys.append(message[0].routing_key)
    assert "gateway.weather.forecast" in keys and "gateway.primary.forecast" not in keys


def test_a_sender_cannot_claim_another_users_identity(broker: Broker) -> None:
    """RabbitMQ checks the user_id property against the connection's user (no user has the
    impersonator tag), so a consumer can trust it."""
    assert _publish(broker, "weather-agent", "gateway.weather.x", "weather-agent") == "ok"
    spoofed = _publish(broker, "weather-agent", "gateway.weather.x", user_id="api-gateway")
    assert spoofed.startswith("406") and "user_id property" in spoofed


def test_an_agent_removed_from_the_settings_loses_its_user_and_queue_at_the_next_boot(
    broker: Broker,
) -> None:
    """RabbitMQ's import never deletes; the start script does, after boot. A removed agent
    (or any user or queue the definitions do not declare) is gone, the declared ones stay."""
    planner = {"name": "planner", "image": "vos/planner-agent:1.0.0", "memoryMb": 256, "cpus": 1}
    base = profile("dev")["agents"]
    grown = evaluate("dev", with_overrides(PROFILE, agents=[*base, planner]), state=broker.state)
    broker.server.stop()
    broker.server.install(containers(grown)["rabbitmq"])
    broker.server.start()
    broker.evaluation = grown
    password = broker.password("planner-agent")
    with broker.connect("planner-agent", password):
        pass
    # Several of each, so that deleting one cannot hide a failure to delete the next.
    strays = ["by-hand-1", "by-hand-2", "by-hand-3"]
    for name in strays:
        added = broker.server.ctl("add_user", name, f"{name}-password")
        assert added.returncode == 0, added.stderr
    admin = str(output(broker.evaluation.named("credentials-rabbitmq-admin-password"), "result"))
    with broker.connect("vos_admin", admin) as connection:
        for queue in ("stray.one", "stray.two"):
            connection.channel().queue_declare(queue, durable=True)

    shrunk = evaluate("dev", with_overrides(PROFILE, agents=base), state=broker.state)
    broker.server.stop()
    broker.server.install(containers(shrunk)["rabbitmq"])
    broker.server.start()
    broker.evaluation = shrunk

    def gone() -> bool:
        users = broker.server.ctl("-q", "list_users", "--no-table-headers").stdout
        queues = broker.server.ctl("-q", "list_queues", "-p", "vos", "--no-table-headers", "name")
        names = {line.split()[0] for line in users.splitlines() if line.strip()}
        listed = set(queues.stdout.split())
        return (
            not names & {"planner-agent", *strays}
            and not listed & {"vos.agent.planner", "stray.one", "stray.two"}
            and {"vos_admin", "api-gateway", "weather-agent"} <= names
            and {"vos.gateway", "vos.agent.weather"} <= listed
        )

    deadline = time.monotonic() + 60
    while not gone() and time.monotonic() < deadline:
        time.sleep(1)
    assert gone(), broker.server.log()[-3000:]
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        broker.connect("planner-agent", password)
    with broker.connect("weather-agent", broker.password("weather-agent")):
        pass  # control: a declared user still logs in


def test_docker_stop_stops_the_broker_through_the_start_script(broker: Broker) -> None:
    """`docker stop` signals the script (PID 1 in the container): it passes SIGTERM on and
    exits when the broker has stopped."""
    process = broker.server.process
    assert process is not None
    os.kill(process.pid, signal.SIGTERM)  # the script only, as `docker stop` signals PID 1
    assert process.wait(timeout=90) == 0  # a clean stop, not a kill
    assert broker.server.ctl("status").returncode != 0  # the node is down
    broker.server.process = None
    broker.server.start()  # leave it running for any later test


def test_what_a_consumer_rejects_is_kept_in_the_dead_letter_queue_for_the_admin_only(
    broker: Broker,
) -> None:
    """A message without user_id (the broker checks it only when set), rejected by the agent
    as the contract says, lands in vos.dead-letter with the broker's account of why; no app
    reads that queue or publishes into its exchange, and the queue is bounded."""
    broker.publish("agent.weather.task", b"who sent this?")  # no user_id
    with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
        channel = agent.channel()
        method, properties, body = channel.basic_get("vos.agent.weather")
        assert method is not None and body == b"who sent this?" and properties.user_id is None
        channel.basic_reject(method.delivery_tag, requeue=False)
        assert "ACCESS_REFUSED" in refused(lambda: agent.channel().basic_get("vos.dead-letter"))
        assert "ACCESS_REFUSED" in refused(
            lambda: confirmed(agent).basic_publish("vos.dead-letter", "", b"forged")
        )
    with broker.connect("vos_admin", broker.admin_password()) as admin:
        channel = admin.channel()
        deadline = time.monotonic() + 10
        while (got := channel.basic_get("vos.dead-letter", auto_ack=True))[0] is None:
            assert time.monotonic() < deadline, "nothing was dead-lettered"
            time.sleep(0.2)
        _, properties, body = got
        assert body == b"who sent this?"
        death = properties.headers["x-death"][0]
        assert (death["reason"], death["queue"]) == ("rejected", "vos.agent.weather"), death
        # the internal exchange refuses a client, even the admin: only dead-lettering fills it
        assert "ACCESS_REFUSED" in refused(
            lambda: confirmed(admin).basic_publish("vos.dead-letter", "", b"forged")
        )
    listed = broker.server.ctl(
        "-q", "list_queues", "-p", "vos", "--no-table-headers", "name", "policy"
    ).stdout
    policies = dict(line.split() for line in listed.splitlines() if len(line.split()) == 2)
    assert policies["vos.dead-letter"] == "vos-dead-letter"
    assert policies["vos.agent.weather"] == policies["vos.gateway"] == "vos-app-queues"
    limit = broker.server.ctl("-q", "list_policies", "-p", "vos", "--no-table-headers").stdout
    assert '"max-length":10000' in limit.replace(" ", ""), limit
    assert f'"max-length-bytes":{256 * 1024 * 1024}' in limit.replace(" ", ""), limit


def test_a_flooded_queue_refuses_what_is_beyond_its_bound_and_blocks_no_other_queue(
    broker: Broker,
) -> None:
    """An agent's queue takes APP_QUEUE_LIMIT messages; every publish beyond is refused to
    its publisher (a nack with confirms), nothing already queued is dropped, no resource
    alarm goes off, and the other queues take messages as before."""
    extra = 25
    refusals = 0
    try:
        with broker.connect("api-gateway", broker.password("api-gateway")) as gateway:
            channel = confirmed(gateway)
            persistent = pika.BasicProperties(delivery_mode=2)
            for number in range(APP_QUEUE_LIMIT + extra):
                try:
                    channel.basic_publish(
                        "vos.messages", "agent.weather.flood", b"%d" % number, persistent
                    )
                except pika.exceptions.NackError:
                    refusals += 1
            channel.basic_publish("vos.messages", "agent.primary.task", b"still taken")
        assert refusals == extra
        depths = broker.server.ctl(
            "-q", "list_queues", "-p", "vos", "--no-table-headers", "name", "messages"
        ).stdout
        depth = dict(line.split() for line in depths.splitlines() if len(line.split()) == 2)
        assert int(depth["vos.agent.weather"]) == APP_QUEUE_LIMIT
        with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
            method, _, body = agent.channel().basic_get("vos.agent.weather")
            assert method is not None and body == b"0"  # the oldest kept: reject-publish
        assert broker.server.ctl("-q", "eval", "rabbit_alarm:get_alarms().").stdout.strip() == "[]"
    finally:
        for queue in ("vos.agent.weather", "vos.agent.primary"):
            broker.server.ctl("-q", "purge_queue", "-p", "vos", queue)


def test_the_resource_alarms_sit_below_the_container_s_limits(broker: Broker) -> None:
    memory = int(profile("dev")["services"]["rabbitmq"]["memoryMb"])
    limit = broker.server.ctl("-q", "eval", "vm_memory_monitor:get_memory_limit().").stdout
    assert int(limit.strip()) == memory_watermark_bytes(memory) < memory * 1024 * 1024
    disk = broker.server.ctl("-q", "eval", "rabbit_disk_monitor:get_disk_free_limit().").stdout
    assert int(disk.strip()) == DISK_FREE_LIMIT_MIB * 1024 * 1024
