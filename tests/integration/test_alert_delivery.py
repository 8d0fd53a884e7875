"""An alert reaches a person: the real Alertmanager of the release the stacks pin (0.28.1,
alertmanager_release.py), started from what its container receives with the stack's
receivers, delivers to a real SMTP server (aiosmtpd) that demands STARTTLS and a login
(and to an address behind a relay that takes mail without one) and to an HTTPS webhook
server, whose URL (with its token) Alertmanager reads from its secret file: the alert
within the group wait, then its resolved notification. The Watchdog goes to the heartbeat
receiver every repeat interval, and to no one else.

The alerts are posted to Alertmanager's API as Prometheus posts them (that Prometheus reaches
Alertmanager over TLS and auth is tests/integration/test_monitoring.py's Watchdog test).
Remapped for the test, as every rendered server here (rendered_server.py): paths, ports,
and the group wait and intervals shortened (30 s, 5 min and 1 min to 2 s). The servers'
certificates are trusted through SSL_CERT_FILE, as a host's CA bundle would trust a
provider's."""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.docker.host_pki import ca, issue
from tests.helpers import config_with, output, write_private
from tests.integration.alertmanager_release import binary
from tests.integration.monitoring_stack import rendered_port
from tests.integration.rendered_server import RenderedServer, free_ports, hosts_file
from tools.offline.rendered import containers
from tools.offline.runner import evaluate

MAIL_HOST = "mail.vos.test"
SMARTHOST = f"{MAIL_HOST}:587"
LOGIN = "alertmanager"
PASSWORD = "smtp-Pa55word-1"
RECEIVER = {
    "name": "oncall-mail",
    "type": "email",
    "to": "oncall@vos.test",
    "sender": "alertmanager@vos.test",
    "smarthost": SMARTHOST,
    "username": LOGIN,
    "secret": PASSWORD,
}
HOOK_HOST = "hooks.vos.test"
HOOK_PATH = "/alerts/T0?token=hook-token-1"
BEAT_PATH = "/ping/4f1c"
RECEIVERS = [
    RECEIVER,
    {"name": "relay", "type": "email", "to": "ops@vos.test", "sender": "alertmanager@vos.test",
     "smarthost": SMARTHOST},
    {"name": "hook", "type": "webhook", "secret": f"https://{HOOK_HOST}:443{HOOK_PATH}"},
    {"name": "beat", "type": "webhook", "secret": f"https://{HOOK_HOST}:443{BEAT_PATH}"},
]  # fmt: skip
GROUP_WAIT_S = 2
FASTER = {
    "group_wait: 30s": f"group_wait: {GROUP_WAIT_S}s",
    "group_interval: 5m": "group_interval: 2s",
    "group_interval: 1m": "group_interval: 2s",
    "repeat_interval: 1m": "repeat_interval: 2s",
}


@dataclass
class Mailbox:
    """What the SMTP server saw: each login tried, each message taken, over TLS or not."""

    password: str
    logins: list[tuple[str, str, bool, bool]] = field(default_factory=list)
    """(login, password, over TLS, accepted)"""
    messages: list[tuple[str, list[str], bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:  # fmt: skip
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = (login, password) == (LOGIN, self.password)
        with self.lock:
            self.logins.append((login, password, session.ssl is not None, accepted))
        return AuthResult(success=accepted)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.content, session.ssl is not None))  # fmt: skip
        return "250 OK"


@dataclass
class Hooks:
    """What the HTTPS webhook server took: (path with its query, the JSON posted)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, path: str, alertname: str, status: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for at, body in self.calls if at == path and body["status"] == status
                    and body["commonLabels"].get("alertname") == alertname]  # fmt: skip


def _webhook_server(hooks: Hooks, port: int, context: ssl.SSLContext) -> ThreadingHTTPServer:
    class Taken(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with hooks.lock:
                hooks.calls.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Taken)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Delivery:
    mailbox: Mailbox
    hooks: Hooks
    alertmanager: RenderedServer
    ca_file: str
    password: str

    def post(self, alerts: list[dict[str, Any]]) -> None:
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.ca_file,
                                   assert_hostname="alertmanager", retries=False)  # fmt: skip
        headers = urllib3.make_headers(basic_auth=f"admin:{self.password}")
        headers["Content-Type"] = "application/json"
        response = pool.request(
            "POST", f"https://127.0.0.1:{self.alertmanager.port}/api/v2/alerts",
            body=json.dumps(alerts), headers=headers, timeout=10,
        )  # fmt: skip
        assert response.status == 200, response.data


def _alert(name: str, ends: datetime | None = None, severity: str = "critical") -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": name,
            "severity": severity,
            "job": "postgres-exporter",
            "instance": "postgres-exporter:9187",
        },
        "annotations": {"summary": f"{name} for the delivery test"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    return alert


def _until(check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    return check()


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivery]:
    folder = tmp_path_factory.mktemp("delivery")
    authority = ca("receivers CA")
    # Alertmanager runs as nobody: its CA bundle readable by all, where nobody can reach it.
    bundle = Path(tempfile.mkstemp(prefix="vos-receivers-ca-", dir="/tmp")[1])
    bundle.write_text(authority.cert)
    bundle.chmod(0o644)
    contexts = {}
    for host in (MAIL_HOST, HOOK_HOST):
        cert, key = issue(authority, host, "server_auth", names=(host,)).write(folder, host)
        contexts[host] = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        contexts[host].load_cert_chain(cert, key)
    mailbox, hooks = Mailbox(PASSWORD), Hooks()
    alerting = {"receivers": RECEIVERS, "heartbeat": "beat"}
    evaluation = evaluate("dev", config_with("dev", alerting=alerting))
    rendered = containers(evaluation)["alertmanager"]
    ports = free_ports([SMARTHOST, f"{HOOK_HOST}:443", f"alertmanager:{rendered_port(rendered)}"])
    smtp = Controller(
        mailbox, hostname="127.0.0.1", port=ports[SMARTHOST], tls_context=contexts[MAIL_HOST],
        require_starttls=True, authenticator=mailbox.authenticate, auth_require_tls=True,
        server_hostname=MAIL_HOST, ready_timeout=10,
        # PLAIN only: aiosmtpd's LOGIN prompts "User Name" where Alertmanager's LOGIN client
        # (and the mechanism's draft) expects "Username:"; mail providers offer PLAIN too.
        auth_exclude_mechanism=["LOGIN"],
    )  # fmt: skip
    smtp.start()
    webhooks = _webhook_server(hooks, ports[f"{HOOK_HOST}:443"], contexts[HOOK_HOST])
    hosts = hosts_file(["alertmanager", MAIL_HOST, HOOK_HOST])
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(bundle)  # inherited by the Alertmanager process
    try:
        alertmanager = RenderedServer(
            rendered, binary("prometheus-alertmanager"), hosts, ports,
            ports[f"alertmanager:{rendered_port(rendered)}"], FASTER,
        )  # fmt: skip
    finally:
        if previous is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = previous
    ca_file = write_private(
        folder, "platform-ca.crt", str(output(evaluation.named("pki-ca-cert"), "certPem"))
    )
    password = str(output(evaluation.named("credentials-alertmanager-admin-password"), "result"))
    try:
        yield Delivery(mailbox, hooks, alertmanager, ca_file, password)
    finally:
        alertmanager.stop()
        smtp.stop()
        webhooks.shutdown()
        hosts.unlink()
        bundle.unlink()


def _mails(
    mailbox: Mailbox, alertname: str, state: str, to: str = RECEIVER["to"]
) -> list[tuple[str, list[str], bytes, bool]]:
    with mailbox.lock:
        return [m for m in mailbox.messages if m[1] == [to]
                and alertname.encode() in m[2] and f"[{state}".encode() in m[2]]  # fmt: skip


def test_a_critical_alert_arrives_by_mail_over_starttls_with_the_login_then_its_resolution(
    delivery: Delivery,
) -> None:
    name = "DeliveryDrillFiring"
    posted = time.monotonic()
    delivery.post([_alert(name)])
    firing = _until(lambda: _mails(delivery.mailbox, name, "FIRING"), GROUP_WAIT_S + 15)
    assert firing, delivery.alertmanager.output()
    took = time.monotonic() - posted
    sender, recipients, content, over_tls = firing[0]
    assert (sender, recipients, over_tls) == (RECEIVER["sender"], [RECEIVER["to"]], True)
    mail = message_from_bytes(content)
    assert mail["To"] == RECEIVER["to"] and name in str(mail["Subject"])
    # The receiver's secret (a file Alertmanager reads) as the password, inside TLS.
    assert (LOGIN, PASSWORD, True, True) in delivery.mailbox.logins
    assert took < GROUP_WAIT_S + 15, took
    # Resolved: the same alert with its end, as Prometheus sends it when the rule stops firing.
    delivery.post([_alert(name, ends=datetime.now(UTC))])
    resolved = _until(lambda: _mails(delivery.mailbox, name, "RESOLVED"), 20)
    assert resolved, delivery.alertmanager.output()


def test_a_critical_alert_reaches_the_relay_without_a_login_and_the_webhook_over_https(
    delivery: Delivery,
) -> None:
    name = "WebhookDrillFiring"
    delivery.post([_alert(name)])
    # The webhook's URL, token included, came from its secret file (url_file).
    firing = _until(lambda: delivery.hooks.to(HOOK_PATH, name, "firing"), GROUP_WAIT_S + 15)
    assert firing, delivery.alertmanager.output()
    [alert] = firing[0]["alerts"]
    assert alert["labels"]["severity"] == "critical" and alert["status"] == "firing"
    # The relay's mail went out over STARTTLS, without a login (the one login the SMTP
    # server saw is the other receiver's).
    relayed = _until(lambda: _mails(delivery.mailbox, name, "FIRING", "ops@vos.test"), 20)
    assert [(m[0], m[3]) for m in relayed] == [("alertmanager@vos.test", True)]
    assert {login for login, *_ in delivery.mailbox.logins} == {LOGIN}
    delivery.post([_alert(name, ends=datetime.now(UTC))])
    assert _until(lambda: delivery.hooks.to(HOOK_PATH, name, "resolved"), 20)
    assert not delivery.hooks.to(BEAT_PATH, name, "firing")  # the heartbeat gets no alert


def test_the_watchdog_beats_on_the_heartbeat_receiver_only(delivery: Delivery) -> None:
    delivery.post([_alert("Watchdog", severity="none")])
    beats = _until(lambda: len(delivery.hooks.to(BEAT_PATH, "Watchdog", "firing")) >= 3, 30)
    assert beats, (delivery.hooks.calls, delivery.alertmanager.output())
    assert not delivery.hooks.to(HOOK_PATH, "Watchdog", "firing")
    assert not _mails(delivery.mailbox, "Watchdog", "FIRING")
    assert not _mails(delivery.mailbox, "Watchdog", "FIRING", "ops@vos.test")
