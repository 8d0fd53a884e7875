"""Alertmanager's files, pure: routing (alertmanager.yml), its web config, and the HTTP
client config its healthcheck (amtool) uses.

Kept to what Alertmanager 0.25 (Debian bookworm's, the Docker tier's stand-in) and the
profiles' 0.28 accept: `matchers` in routes and inhibitions (0.22+), exporter-toolkit web
config keys; only a webhook receiver needs 0.26 or newer (`url_file`: stacks/rules/
alerting.py refuses it with an older image)."""

from __future__ import annotations

from collections.abc import Sequence

from components.alertmanager.definition import DEFINITION, receiver_secret_name
from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.yaml_document import yaml_text
from stacks.models import ReceiverSettings

CONFIG = f"{CONFIG_DIR}/alertmanager.yml"
WEB_CONFIG = f"{CONFIG_DIR}/web.yml"
CLIENT_CONFIG = f"{CONFIG_DIR}/amtool.yml"
PASSWORD_FILE = f"{CONFIG_DIR}/secrets/admin-password"
DATA = "/alertmanager"
"""The official image's data folder (its VOLUME): silences and the notification log."""
ADMIN = "admin"
DEFAULT_RECEIVER = "platform"
WATCHDOG_RECEIVER = "watchdog"
"""Alertmanager's own receivers (stacks/rules/alerting.py BUILT_IN_RECEIVERS keeps
configured ones off their names)."""


def receiver_secret_file(name: str) -> str:
    return f"{CONFIG_DIR}/secrets/{receiver_secret_name(name)}"


def _integration(receiver: ReceiverSettings) -> dict[str, object]:
    """The receiver's integration, its secret read from a file (auth_password_file,
    api_url_file, routing_key_file, url_file; checked by amtool 0.28)."""
    secret = receiver_secret_file(receiver.name)
    if receiver.type == "email":
        config: dict[str, object] = {
            "to": receiver.to,
            "from": receiver.sender,
            "smarthost": receiver.smarthost,
            "require_tls": True,
        }
        if receiver.secret is not None:  # else a relay that takes mail without a login
            config |= {"auth_username": receiver.username, "auth_password_file": secret}
        key = "email_configs"
    elif receiver.type == "slack":
        config, key = {"api_url_file": secret, "channel": receiver.channel}, "slack_configs"
    elif receiver.type == "webhook":
        config, key = {"url_file": secret}, "webhook_configs"
    else:
        config, key = {"routing_key_file": secret}, "pagerduty_configs"
    return {"name": receiver.name, key: [{**config, "send_resolved": True}]}


def alertmanager_yml(
    receivers: Sequence[ReceiverSettings] = (), heartbeat: str | None = None
) -> str:
    """Routes: the Watchdog on a route of its own (it always fires: a dead man's switch
    belongs there; to the `heartbeat` receiver every minute, and nothing else to it; else
    nowhere), everything else grouped per alert and target to the default receiver.
    Inhibitions: a critical alert silences the warning of the same alert and target, the
    critical certificate alert its early warning, and a target that is down every other
    alert of that target (they follow from it).
    Every alert is held and shown by Alertmanager's API and UI (amtool, Grafana); the
    configured receivers (alerting.receivers) get the severities they ask for, each on a
    route that lets the alert go on to the next."""
    return yaml_text(
        {
            "global": {"resolve_timeout": "5m"},
            "route": {
                "receiver": DEFAULT_RECEIVER,
                "group_by": ["alertname", "job", "instance"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
                "routes": [
                    {
                        "matchers": ['alertname="Watchdog"'],
                        "receiver": heartbeat or WATCHDOG_RECEIVER,
                        "group_wait": "0s",
                        "group_interval": "1m",
                        "repeat_interval": "1m",
                    },
                    *(
                        {
                            "matchers": [f'severity=~"{"|".join(r.severities)}"'],
                            "receiver": r.name,
                            "continue": True,
                        }
                        for r in receivers
                        if r.name != heartbeat  # it gets the Watchdog alone
                    ),
                ],
            },
            "inhibit_rules": [
                {
                    "source_matchers": ['severity="critical"'],
                    "target_matchers": ['severity="warning"'],
                    "equal": ["alertname", "job", "instance"],
                },
                {
                    "source_matchers": ['alertname="TLSCertificateExpiryCritical"'],
                    "target_matchers": ['alertname="TLSCertificateExpiringSoon"'],
                    "equal": ["instance"],
                },
                {
                    "source_matchers": ['alertname="TargetDown"'],
                    "target_matchers": ['alertname!="TargetDown"', 'alertname!="Watchdog"'],
                    "equal": ["job", "instance"],
                },
            ],
            "receivers": [
                {"name": DEFAULT_RECEIVER},
                {"name": WATCHDOG_RECEIVER},
                *(_integration(r) for r in receivers),
            ],
        }
    )


def client_config() -> str:
    """amtool's (the healthcheck's) way in: TLS verified for Alertmanager's name, the
    admin's password from its file."""
    return yaml_text(
        {
            "basic_auth": {"username": ADMIN, "password_file": PASSWORD_FILE},
            "tls_config": {
                "ca_file": f"{TLS_DIR}/ca.crt",
                "server_name": DEFINITION.dns_name,
                "min_version": "TLS12",
            },
        }
    )
