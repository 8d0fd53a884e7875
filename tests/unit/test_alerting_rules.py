"""The alerting settings refused before anything is made, each with its key and the command
that fixes it: prod's critical alerts reaching no one, a webhook that is not https or that
the Alertmanager image cannot read from a file, half an SMTP login, a heartbeat naming no
receiver."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from stacks.values import OFFLINE_SECRET_PLACEHOLDER
from tests.helpers import stack_overrides

HOOK = {"name": "hook", "type": "webhook", "secret": "https://hooks.example.com/T0/x"}
RELAY = {"name": "oncall", "type": "email", "to": "oncall@example.com",
         "sender": "am@example.com", "smarthost": "smtp.example.com:587"}  # fmt: skip


def _problems(stack: str, **alerting: Any) -> dict[str, tuple[str, str]]:
    """key -> (message, fix) of every problem; empty when the settings load."""
    overrides = stack_overrides(stack) | {"alerting": alerting}
    try:
        load_settings(stack, overrides, REGISTRY)
    except SettingsError as error:
        return {p.key: (p.message, p.fix) for p in error.problems}
    return {}


def test_prod_refuses_critical_alerts_that_reach_no_one() -> None:
    sample = load_settings("prod", stack_overrides("prod"), REGISTRY).alerting.receivers
    assert [(r.type, r.severities, r.secret) for r in sample] == [("email", ["critical"], None)]
    assert _problems("prod", receivers=[RELAY]) == {}
    warning_only = [{**HOOK, "severities": ["warning"]}]
    for receivers in ([], warning_only):
        found = _problems("prod", receivers=receivers)
        message, fix = found["vos-infra:alerting.receivers"]
        assert "critical alerts to no one" in message
        assert "vos-infra:alerting.receivers[0].type" in fix
    assert "vos-infra:alerting.receivers" not in _problems("dev", receivers=[])


def test_a_webhook_is_an_https_url_kept_secret() -> None:
    assert _problems("dev", receivers=[HOOK]) == {}
    for url in ("http://hooks.example.com/x", "hooks.example.com/x", "https:///x"):
        message, fix = _problems("dev", receivers=[{**HOOK, "secret": url}])[
            "vos-infra:alerting.receivers[0].secret"
        ]
        assert "https:// URL" in message and url not in message  # the secret is not echoed
        assert fix.startswith("pulumi config set --secret --path")
    missing = _problems("dev", receivers=[{k: v for k, v in HOOK.items() if k != "secret"}])
    assert "required for a webhook" in missing["vos-infra:alerting.receivers[0].secret"][0]
    # An offline evaluation cannot read an encrypted URL: it does not judge it.
    assert _problems("dev", receivers=[{**HOOK, "secret": OFFLINE_SECRET_PLACEHOLDER}]) == {}


def test_a_webhook_needs_an_alertmanager_that_reads_its_url_from_a_file() -> None:
    def with_image(image: str) -> dict[str, tuple[str, str]]:
        overrides = stack_overrides("dev") | {
            "alerting": {"receivers": [HOOK]},
            "services": {"alertmanager": {"image": image}},
        }
        try:
            load_settings("dev", overrides, REGISTRY)
        except SettingsError as error:
            return {p.key: (p.message, p.fix) for p in error.problems}
        return {}

    message, fix = with_image("prom/alertmanager:v0.25.0")["vos-infra:services.alertmanager.image"]
    assert "0.26" in message and "prom/alertmanager:v0.28.1" in fix
    assert with_image("prom/alertmanager:v0.26.0") == {}
    assert with_image("registry.example/alertmanager:ours") == {}  # no version to judge


def test_an_smtp_login_is_whole_or_absent() -> None:
    assert _problems("dev", receivers=[RELAY]) == {}
    with_login = {**RELAY, "username": "am", "secret": "pw-1"}
    assert _problems("dev", receivers=[with_login]) == {}
    only_user = _problems("dev", receivers=[{**RELAY, "username": "am"}])
    assert list(only_user) == ["vos-infra:alerting.receivers[0].secret"]
    assert "--secret" in only_user["vos-infra:alerting.receivers[0].secret"][1]
    only_password = _problems("dev", receivers=[{**RELAY, "secret": "pw-1"}])
    assert list(only_password) == ["vos-infra:alerting.receivers[0].username"]


def test_the_heartbeat_names_a_receiver_and_does_not_count_for_prod() -> None:
    assert _problems("dev", receivers=[HOOK], heartbeat="hook") == {}
    message, fix = _problems("dev", receivers=[HOOK], heartbeat="pager")[
        "vos-infra:alerting.heartbeat"
    ]
    assert "'pager' is not one of alerting.receivers" in message
    assert "pulumi config rm --path 'vos-infra:alerting.heartbeat'" in fix
    # It gets only the Watchdog, so prod's critical alerts need another receiver.
    assert "vos-infra:alerting.receivers" in _problems("prod", receivers=[HOOK], heartbeat="hook")
    assert _problems("prod", receivers=[HOOK, RELAY], heartbeat="hook") == {}


@pytest.mark.parametrize("kind", ["slack", "pagerduty"])
def test_the_other_types_still_need_their_secret(kind: str) -> None:
    receiver = {"name": "r", "type": kind, "channel": "#vos"}
    found = _problems("dev", receivers=[receiver])
    assert "required for a" in found["vos-infra:alerting.receivers[0].secret"][0]
