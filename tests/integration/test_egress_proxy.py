"""The egress proxy on Debian's Squid (squid-openssl 5.7), started from the files the
program renders for its container (tests/integration/squid_server.py says what is remapped):
an app's own client certificate takes it through CONNECT to the outside hosts of its own
allow-list, end-to-end TLS to them included; everything else is refused and logged with the
app's identity."""

from __future__ import annotations

import re
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.egress_proxy import refusals
from components.egress_proxy.files import REFUSED
from tests.helpers import (
    config_with,
    output,
    profile,
    stack_overrides,
    throwaway_server,
    write_private,
)
from tests.integration.log_counts import tally
from tests.integration.proxy_client import (
    Identity,
    Refused,
    ask,
    connect_request,
    get_inside,
    outside_server,
)
from tests.integration.rendered_server import hosts_file
from tests.integration.sockets import free_port
from tests.integration.squid_server import SquidServer
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate

PROVES = ("egress_proxy",)
"""Packages whose containers this module runs on real servers (tests/program/test_registry.py)."""
OUTSIDE, OTHER = "outside.test", "weather.test"


@dataclass
class Egress:
    evaluation: Evaluation
    proxy: SquidServer
    ports: dict[str, int]
    outside_ca: dict[str, str]
    folder: Path

    def identity(self, app: str) -> tuple[str, str]:
        """The app's own client certificate and key, as files."""
        cert = output(self.evaluation.named(f"pki-{app}-client-cert"), "certPem")
        key = output(self.evaluation.named(f"pki-{app}-client-key"), "privateKeyPem")
        return (
            write_private(self.folder, f"{app}.crt", str(cert)),
            write_private(self.folder, f"{app}.key", str(key)),
        )

    @property
    def platform_ca(self) -> str:
        cert = output(self.evaluation.named("pki-ca-cert"), "certPem")
        return write_private(self.folder, "ca.crt", str(cert))


@pytest.fixture(scope="module")
def egress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Egress]:
    folder = tmp_path_factory.mktemp("egress")
    servers = {name: outside_server(name, folder) for name in (OUTSIDE, OTHER)}
    ports = {name: server.server_port for name, (server, _) in servers.items()}
    agents = [dict(a) for a in stack_overrides("dev").get("agents") or profile("dev")["agents"]]
    agents[0]["egress"] = [f"{OUTSIDE}:{ports[OUTSIDE]}"]
    agents[1]["egress"] = [f"{OTHER}:{ports[OTHER]}", "*.example.org"]
    evaluation = evaluate("dev", config_with("dev", agents=agents))
    hosts = hosts_file([OUTSIDE, OTHER])
    proxy = SquidServer(containers(evaluation)["egress-proxy"], hosts, free_port())
    try:
        cas = {name: cert for name, (_, cert) in servers.items()}
        yield Egress(evaluation, proxy, ports, cas, folder)
    finally:
        proxy.stop()
        hosts.unlink()
        for server, _ in servers.values():
            server.shutdown()


def _ask(egress: Egress, identity: Identity, request: str) -> tuple[str, ssl.SSLSocket]:
    return ask(egress.proxy.port, egress.platform_ca, identity, request)


def _connect(egress: Egress, identity: Identity, target: str) -> str:
    status, tls = _ask(egress, identity, connect_request(target))
    tls.close()
    return status


def _get_through_tunnel(egress: Egress, identity: Identity, host: str) -> str:
    status, tunnel = _ask(egress, identity, connect_request(f"{host}:{egress.ports[host]}"))
    assert " 200 " in f"{status} ", status
    return get_inside(tunnel, host, egress.outside_ca[host])


def test_an_app_reaches_its_own_destination_end_to_end_through_the_tunnel(egress: Egress) -> None:
    assert _get_through_tunnel(egress, egress.identity("primary-agent"), OUTSIDE) == (
        f"hello from {OUTSIDE}"
    )
    assert _get_through_tunnel(egress, egress.identity("weather-agent"), OTHER) == (
        f"hello from {OTHER}"
    )


def test_another_apps_destination_an_unlisted_host_another_port_and_an_ip_are_refused(
    egress: Egress,
) -> None:
    primary = egress.identity("primary-agent")
    refused = {
        "another app's destination": f"{OTHER}:{egress.ports[OTHER]}",
        "an unlisted host": f"api.example.com:{egress.ports[OUTSIDE]}",
        "its host on another port": f"{OUTSIDE}:{egress.ports[OTHER]}",
        "its host's address": f"127.0.0.1:{egress.ports[OUTSIDE]}",
        "its host's IPv6 address": f"[::1]:{egress.ports[OUTSIDE]}",
    }
    for what, target in refused.items():
        assert " 403 " in f"{_connect(egress, primary, target)} ", what
    # a wildcard entry: the domain's subdomains, on the default port only
    weather = egress.identity("weather-agent")
    assert " 403 " in _connect(egress, weather, f"api.example.org:{egress.ports[OTHER]}") + " "


def test_plain_http_proxying_is_refused(egress: Egress) -> None:
    url = f"http://{OUTSIDE}:{egress.ports[OUTSIDE]}/"
    status, tls = _ask(
        egress, egress.identity("primary-agent"), f"GET {url} HTTP/1.1\r\nHost: {OUTSIDE}\r\n\r\n"
    )
    tls.close()
    assert " 403 " in f"{status} ", status


def test_no_certificate_or_one_from_another_ca_gets_no_tunnel(egress: Egress) -> None:
    target = f"{OUTSIDE}:{egress.ports[OUTSIDE]}"
    with pytest.raises(Refused):
        _connect(egress, None, target)
    # A certificate named like the app, from a CA the proxy does not trust.
    impostor = throwaway_server(egress.folder, "primary-agent")
    with pytest.raises(Refused):
        _connect(egress, impostor, target)


def test_each_request_is_logged_with_the_apps_identity_refusals_included(egress: Egress) -> None:
    weather = egress.identity("weather-agent")
    target = f"{OUTSIDE}:{egress.ports[OUTSIDE]}"
    assert " 403 " in _connect(egress, weather, target) + " "
    pattern = re.compile(
        rf'identity="/CN=weather-agent(/[^"]*)?" method=CONNECT target={re.escape(target)} '
        rf"status=403 result={REFUSED}"
    )
    lines = egress.proxy.access_log()
    for _ in range(50):
        if any(pattern.search(line) for line in lines):
            break
        threading.Event().wait(0.1)
        lines = egress.proxy.access_log()
    assert any(pattern.search(line) for line in lines), lines[-5:]


def _alloy_refusal_counts(lines: Sequence[str]) -> Counter[str]:
    """What Alloy counts from these lines (refusals.COUNT), per app."""
    return Counter({labels[0]: n for (metric, labels), n in tally(refusals.COUNT, lines).items()})


def _until(check: Callable[[], bool]) -> bool:
    for _ in range(50):
        if check():
            return True
        threading.Event().wait(0.1)
    return check()


def test_the_refusal_count_alloy_takes_from_the_log_is_per_app_and_refusals_only(
    egress: Egress,
) -> None:
    """The alert EgressRefusalBurst reads this count: the lines are the real Squid's, the
    fields and the regex are those the Alloy configuration uses."""
    before = _alloy_refusal_counts(egress.proxy.access_log())
    primary, weather = egress.identity("primary-agent"), egress.identity("weather-agent")
    for target in (f"{OTHER}:{egress.ports[OTHER]}", f"127.0.0.1:{egress.ports[OUTSIDE]}"):
        assert " 403 " in _connect(egress, primary, target) + " "
    for _ in range(3):
        assert " 403 " in _connect(egress, weather, f"{OUTSIDE}:{egress.ports[OUTSIDE]}") + " "
    # Allowed tunnels are logged too, and not counted.
    assert _get_through_tunnel(egress, primary, OUTSIDE) == f"hello from {OUTSIDE}"
    expected = before + Counter({"primary-agent": 2, "weather-agent": 3})

    assert _until(lambda: _alloy_refusal_counts(egress.proxy.access_log()) == expected), (
        _alloy_refusal_counts(egress.proxy.access_log()),
        expected,
    )
    tunnels = [line for line in egress.proxy.access_log() if "result=TCP_TUNNEL" in line]
    assert any('identity="/CN=primary-agent' in line for line in tunnels)
