"""Alertmanager's receivers (alerting.receivers, alerting.heartbeat) as a stack sets them:
the rendered configuration checked and routed by the real amtool of the release the stacks
pin (0.28.1, alertmanager_release.py), each receiver's secret kept in Vault and handed to
Alertmanager as a file, never in the configuration itself; an email relay without a login
gets neither."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from components.alertmanager import files
from stacks.problems import SettingsError
from tests.helpers import config_with
from tests.integration.alertmanager_release import binary
from tests.integration.local_files import lay_out, private_workdir, remove
from tools.offline.mocks import unwrap
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate

SECRETS = {
    "oncall-mail": "smtp-Pa55word-1",
    "chat": "https://hooks.slack.example/services/T0/B0/x",
    "pager": "0123456789abcdef0123456789abcdef",
    "hook": "https://hooks.example.com/vos/T0?token=hook-token-1",
    "beat": "https://beats.example.com/ping/4f1c",
}
RECEIVERS: list[dict[str, Any]] = [
    {
        "name": "oncall-mail",
        "type": "email",
        "to": "oncall@example.com",
        "sender": "alertmanager@example.com",
        "smarthost": "smtp.example.com:587",
        "username": "alertmanager",
        "secret": SECRETS["oncall-mail"],
    },
    {
        "name": "chat",
        "type": "slack",
        "channel": "#vos-alerts",
        "severities": ["warning"],
        "secret": SECRETS["chat"],
    },
    {"name": "pager", "type": "pagerduty", "secret": SECRETS["pager"]},
    {"name": "hook", "type": "webhook", "severities": ["critical", "warning"],
     "secret": SECRETS["hook"]},
    {"name": "beat", "type": "webhook", "secret": SECRETS["beat"]},
    {"name": "relay", "type": "email", "to": "ops@example.com", "sender": "am@example.com",
     "smarthost": "relay.example.com:587"},
]  # fmt: skip


@pytest.fixture(scope="module")
def with_receivers() -> Evaluation:
    alerting = {"receivers": RECEIVERS, "heartbeat": "beat"}
    return evaluate("dev", config_with("dev", alerting=alerting))


@pytest.fixture(scope="module")
def laid_out(with_receivers: Evaluation) -> Any:
    root = private_workdir("nobody", "vos-am-")
    try:
        yield lay_out(containers(with_receivers)["alertmanager"], root, "nobody")
    finally:
        remove(root)


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("amtool"), *args], capture_output=True, text=True, timeout=30)


def test_amtool_accepts_the_rendered_configuration(laid_out: Path) -> None:
    result = _amtool("check-config", str(laid_out / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 receivers" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=TargetDown", "severity=critical"], "oncall-mail,pager,hook,relay"),
        (["alertname=ServiceRestartLoop", "severity=warning"], "chat,hook"),
        (["alertname=Watchdog", "severity=none"], "beat"),
        (["alertname=Something", "severity=info"], "platform"),
    ],
)
def test_amtool_routes_each_severity_to_the_receivers_that_asked_for_it(
    laid_out: Path, labels: list[str], receivers: str
) -> None:
    result = _amtool(
        "config", "routes", "test", f"--config.file={laid_out / 'alertmanager.yml'}",
        f"--verify.receivers={receivers}", *labels,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails_the_route_check(laid_out: Path) -> None:
    result = _amtool(
        "config", "routes", "test", f"--config.file={laid_out / 'alertmanager.yml'}",
        "--verify.receivers=chat", "alertname=TargetDown", "severity=critical",
    )  # fmt: skip
    assert result.returncode != 0


def test_secrets_are_files_and_vault_secrets_never_configuration(
    with_receivers: Evaluation,
) -> None:
    alertmanager: RenderedContainer = containers(with_receivers)["alertmanager"]
    config = alertmanager.file(files.CONFIG)
    for name, value in SECRETS.items():
        assert value not in config
        file = alertmanager.files[files.receiver_secret_file(name)]
        assert file.content == value and file.mode == "0400" and file.owner == "65534"
        stored = with_receivers.named(f"vault-alertmanager-receiver-{name}")
        assert unwrap(stored.inputs)["data"]["value"] == value
        assert rpc.is_rpc_secret(stored.inputs["data"])  # secret in the state too
    # The relay takes mail without a login: no secret anywhere, no login in its config.
    assert files.receiver_secret_file("relay") not in alertmanager.files
    assert not [r for r in with_receivers.registrations if r.name.endswith("receiver-relay")]
    [relay] = [r for r in yaml.safe_load(config)["receivers"] if r["name"] == "relay"]
    assert set(relay["email_configs"][0]) == {"to", "from", "smarthost", "require_tls",
                                             "send_resolved"}  # fmt: skip


def test_receivers_without_their_fields_or_alertmanager_are_refused() -> None:
    incomplete = [{"name": "mail", "type": "email", "username": "x", "to": "a@example.com"}]
    with pytest.raises(SettingsError) as caught:
        evaluate("dev", config_with("dev", alerting={"receivers": incomplete}))
    keys = {p.key for p in caught.value.problems}
    assert {
        "vos-infra:alerting.receivers[0].sender",
        "vos-infra:alerting.receivers[0].smarthost",
        "vos-infra:alerting.receivers[0].secret",
    } <= keys
    clash = [{**RECEIVERS[2], "name": files.WATCHDOG_RECEIVER}, RECEIVERS[2], RECEIVERS[2]]
    with pytest.raises(SettingsError) as caught:
        evaluate("dev", config_with("dev", alerting={"receivers": clash}))
    messages = {p.key: p.message for p in caught.value.problems}
    assert "of Alertmanager's own" in messages["vos-infra:alerting.receivers[0].name"]
    assert "names two receivers" in messages["vos-infra:alerting.receivers[1].name"]
    alone = config_with(
        "dev", alerting={"receivers": RECEIVERS[2:]}, services={"alertmanager": {"enabled": False}}
    )
    with pytest.raises(SettingsError, match="alertmanager, which sends to them, is disabled"):
        evaluate("dev", alone)
