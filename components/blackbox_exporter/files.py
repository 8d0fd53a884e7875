"""The blackbox exporter's files, pure: its probe module and who may read it, and which
endpoints it probes (from the registry and the apps, not a hand list)."""

from __future__ import annotations

from components.app.contract import HTTPS_PORT
from components.app.inputs import apps
from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.prometheus.web_config import METRICS_CA, web_config
from components.yaml_document import yaml_text
from stacks import Settings

CONFIG = f"{CONFIG_DIR}/blackbox.yml"
WEB_CONFIG = f"{CONFIG_DIR}/web.yml"
MODULE = "tls_connect"


def blackbox_yml() -> str:
    """One module: a TCP connection that must complete a TLS 1.2+ handshake whose chain
    verifies against the platform CA for the target's own name (the prober takes the server
    name from the target when none is set). It reports probe_success,
    probe_ssl_earliest_cert_expiry and probe_tls_version_info."""
    return yaml_text(
        {
            "modules": {
                MODULE: {
                    "prober": "tcp",
                    "timeout": "5s",
                    "tcp": {
                        "tls": True,
                        "tls_config": {
                            "ca_file": f"{TLS_DIR}/ca.crt",
                            "min_version": "TLS12",
                            "insecure_skip_verify": False,
                        },
                    },
                }
            }
        }
    )


def exporter_web_config() -> str:
    """Only Prometheus's scrape identity may ask for probes."""
    return web_config(client_ca=METRICS_CA)


def tls_endpoints(settings: Settings) -> tuple[str, ...]:
    """`name:port` of every running service's main TLS endpoint that a bare handshake can
    probe (ServiceDefinition.tls_probe), and of every app's HTTPS endpoint."""
    found = [
        f"{d.dns_name}:{d.tls_port}"
        for d in settings.enabled_services()
        if d.component and d.tls_probe
    ]
    found += [f"{app.dns_name}:{HTTPS_PORT}" for app in apps(settings)]
    return tuple(dict.fromkeys(found))
