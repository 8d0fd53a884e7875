"""Alertmanager's receivers (alerting.receivers) as a stack sets them: the rendered
configuration checked and routed by the real amtool (Debian's Alertmanager 0.25), each
receiver's secret kept in Vault and handed to Alertmanager as a file, never in the
configuration itself."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from components.alertmanager import files
from stacks.problems import SettingsError
from tests.helpers import config_with
from tests.integration.local_files import lay_out, private_workdir, remove
from tools.offline.mocks import unwrap
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate

SECRETS = {
    "oncall-mail": "smtp-Pa55word-1",
    "chat": "https://hooks.slack.example/services/T0/B0/x",
    "pager": "0123456789abcdef0123456789abcdef",
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
]


@pytest.fixture(scope="module")
def with_receivers() -> Evaluation:
    return evaluate("dev", config_with("dev", alerting={"receivers": RECEIVERS}))


@pytest.fixture(scope="module")
def laid_out(with_receivers: Evaluation) -> Any:
    root = private_workdir("nobody", "vos-am-")
    try:
        yield lay_out(containers(with_receivers)["alertmanager"], root, "nobody")
    finally:
        remove(root)


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=30)


def test_amtool_accepts_the_rendered_configuration(laid_out: Path) -> None:
    result = _amtool("check-config", str(laid_out / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 receivers" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=TargetDown", "severity=critical"], "oncall-mail,pager"),
        (["alertname=ServiceRestartLoop", "severity=warning"], "chat"),
        (["alertname=Watchdog", "severity=none"], "watchdog"),
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


def test_receivers_without_their_fields_or_alertmanager_are_refused() -> None:
    incomplete = [{"name": "mail", "type": "email", "secret": "x", "to": "a@example.com"}]
    with pytest.raises(SettingsError) as caught:
        evaluate("dev", config_with("dev", alerting={"receivers": incomplete}))
    keys = {p.key for p in caught.value.problems}
    assert {
        "vos-infra:alerting.receivers[0].sender",
        "vos-infra:alerting.receivers[0].smarthost",
        "vos-infra:alerting.receivers[0].username",
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
