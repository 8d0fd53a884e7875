"""What reaches what: only the published ports on the bind address, an internal network with
no route out, no Erlang distribution on the network, Vault reachable from the sidecars only."""

from __future__ import annotations

import socket
import ssl

from tests.docker.probes import (
    CONNECT,
    running,
)
from tests.docker.stack import BACKEND, PREFIX, Stack, bridge_gateway
from tests.helpers import output
from tests.integration.sockets import machine_addresses, reachable
from tools.dev_vault import HOST_GATEWAY
from tools.offline.rendered import containers


def test_only_the_published_port_is_published_and_only_on_the_bind_address(
    stack: Stack,
) -> None:
    published = stack.published
    for service in running(stack):
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
