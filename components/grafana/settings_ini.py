"""grafana.ini, pure: TLS 1.2 and up, nothing phoned home, Prometheus's metrics login.
What keeps everyone out without a login (HTTPS, secure cookies, no anonymous access, no
sign-up) is set in the environment instead (containers.SECURITY_ENV), where Grafana gives it
precedence over this file and the policy pack can see it.

Key names from Grafana's configuration reference ("Configure Grafana", sections server,
security, users, auth.anonymous, analytics, snapshots, metrics); `$__file{}` is its
documented variable expansion for secrets in this file."""

from __future__ import annotations

import configparser
import io

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.grafana.definition import DEFINITION

CONFIG = f"{CONFIG_DIR}/grafana.ini"
PROVISIONING = f"{CONFIG_DIR}/provisioning"
DASHBOARDS = f"{CONFIG_DIR}/dashboards"
SECRETS = f"{CONFIG_DIR}/secrets"
ADMIN_PASSWORD = f"{SECRETS}/admin-password"
SECRET_KEY = f"{SECRETS}/secret-key"
METRICS_PASSWORD = f"{SECRETS}/metrics-password"
DATA = "/var/lib/grafana"
"""The official image's data folder (its GF_PATHS_DATA): the database, plugins."""
ADMIN = "admin"
METRICS_USER = "prometheus"


def grafana_ini(domain: str, port: int = DEFINITION.tls_port) -> str:
    """`domain`, `port`: the name and port users reach it by (its root URL and cookies)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(
        {
            "paths": {
                "data": DATA,
                "plugins": f"{DATA}/plugins",
                "provisioning": PROVISIONING,
            },
            "server": {
                "http_port": str(DEFINITION.tls_port),
                "domain": domain,
                "root_url": f"https://{domain}/" if port == 443 else f"https://{domain}:{port}/",
                "cert_file": f"{TLS_DIR}/server.crt",
                "cert_key": f"{TLS_DIR}/server.key",
                "min_tls_version": "TLS1.2",
                "enforce_domain": "false",
            },
            "security": {
                "admin_user": ADMIN,
                "cookie_samesite": "strict",
                "strict_transport_security": "true",
                "content_security_policy": "true",
                "disable_gravatar": "true",
                "x_content_type_options": "true",
                "x_xss_protection": "true",
            },
            "users": {"allow_org_create": "false"},
            "snapshots": {"external_enabled": "false"},
            "analytics": {
                "reporting_enabled": "false",
                "check_for_updates": "false",
                "check_for_plugin_updates": "false",
            },
            "news": {"news_feed_enabled": "false"},
            "log": {"mode": "console"},
            # Prometheus scrapes /metrics with a password of its own.
            "metrics": {
                "enabled": "true",
                "basic_auth_username": METRICS_USER,
                "basic_auth_password": f"$__file{{{METRICS_PASSWORD}}}",
            },
        }
    )
    out = io.StringIO()
    out.write("; Rendered by vos-infra. Secrets: GF_*__FILE variables and $__file{}.\n")
    config.write(out)
    return out.getvalue()
