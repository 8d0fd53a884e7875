"""An alert reaches a person: the real Alertmanager (Debian's 0.25), started from what its
container receives with an email receiver of the stack's settings, delivers to a real SMTP
server (aiosmtpd) that demands STARTTLS and a login: the alert as an email within the group
wait, then its resolved notification. Not here: a webhook receiver (Alertmanager 0.25 reads
no webhook URL from a file, so its secret would sit in the configuration; newer releases
read `url_file`).

The alerts are posted to Alertmanager's API as Prometheus posts them (that Prometheus reaches
Alertmanager over TLS and auth is tests/integration/test_monitoring.py's Watchdog test).
Remapped for the test, as every rendered server here (rendered_server.py): paths, ports,
and the group wait and interval shortened (30 s and 5 min to 2 s). The SMTP server's
certificate is trusted through SSL_CERT_FILE, as a host's CA bundle would trust a provider's."""

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
from pathlib import Path
from typing import Any

import pytest
import urllib3
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.docker.host_pki import ca, issue
from tests.helpers import config_with, output, write_private
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
GROUP_WAIT_S = 2
FASTER = {
    "group_wait: 30s": f"group_wait: {GROUP_WAIT_S}s",
    "group_interval: 5m": "group_interval: 2s",
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
class Delivery:
    mailbox: Mailbox
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


def _alert(name: str, ends: datetime | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": name,
            "severity": "critical",
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
    authority = ca("mail CA")
    server = issue(authority, MAIL_HOST, "server_auth", names=(MAIL_HOST,))
    # Alertmanager runs as nobody: its CA bundle readable by all, where nobody can reach it.
    bundle = Path(tempfile.mkstemp(prefix="vos-mail-ca-", dir="/tmp")[1])
    bundle.write_text(authority.cert)
    bundle.chmod(0o644)
    cert, key = server.write(folder, "mail")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox(PASSWORD)
    evaluation = evaluate("dev", config_with("dev", alerting={"receivers": [RECEIVER]}))
    rendered = containers(evaluation)["alertmanager"]
    ports = free_ports([SMARTHOST, f"alertmanager:{rendered_port(rendered)}"])
    smtp = Controller(
        mailbox, hostname="127.0.0.1", port=ports[SMARTHOST], tls_context=context,
        require_starttls=True, authenticator=mailbox.authenticate, auth_require_tls=True,
        server_hostname=MAIL_HOST, ready_timeout=10,
        # PLAIN only: aiosmtpd's LOGIN prompts "User Name" where Alertmanager's LOGIN client
        # (and the mechanism's draft) expects "Username:"; mail providers offer PLAIN too.
        auth_exclude_mechanism=["LOGIN"],
    )  # fmt: skip
    smtp.start()
    hosts = hosts_file(["alertmanager", MAIL_HOST])
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(bundle)  # inherited by the Alertmanager process
    try:
        alertmanager = RenderedServer(
            rendered, "prometheus-alertmanager", hosts, ports,
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
        yield Delivery(mailbox, alertmanager, ca_file, password)
    finally:
        alertmanager.stop()
        smtp.stop()
        hosts.unlink()
        bundle.unlink()


def _mails(
    mailbox: Mailbox, alertname: str, state: str
) -> list[tuple[str, list[str], bytes, bool]]:
    with mailbox.lock:
        return [m for m in mailbox.messages
                if alertname.encode() in m[2] and f"[{state}".encode() in m[2]]  # fmt: skip


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
