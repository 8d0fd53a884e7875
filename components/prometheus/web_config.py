"""The web config of the Prometheus exporter-toolkit (`--web.config.file`), which Prometheus,
Alertmanager and the exporters share: TLS 1.2 and up with the service's own certificate, and
either basic auth (bcrypt hashes) or a client certificate of one CA.

Only keys that exporter-toolkit has had since before the oldest release the tests run
(Debian: Prometheus 2.42, Alertmanager 0.25, postgres_exporter 0.11, blackbox 0.23) and
still has in the profiles' images (toolkit docs/web-configuration.md)."""

from __future__ import annotations

from components.docker.spec import TLS_DIR
from components.prometheus.web_password import web_password_hash
from components.yaml_document import yaml_text

METRICS_CA = f"{TLS_DIR}/metrics-ca.crt"
CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]
"""TLS 1.2 suites (Go's names): forward secret and AEAD only. Go's defaults still offer
CBC suites to TLS 1.2 clients; TLS 1.3's suites are always AEAD and not configurable."""
"""Where a service that demands the scrape identity gets the metrics CA."""


def web_config(users: dict[str, str] | None = None, client_ca: str | None = None) -> str:
    """`users`: name -> bcrypt hash (basic auth). `client_ca`: a CA file; then every client
    must present a certificate it issued (RequireAndVerifyClientCert)."""
    if not users and not client_ca:
        raise ValueError("a web config without users or client CA would serve anyone")
    server: dict[str, object] = {
        "cert_file": f"{TLS_DIR}/server.crt",
        "key_file": f"{TLS_DIR}/server.key",
        "min_version": "TLS12",
        "cipher_suites": CIPHER_SUITES,
    }
    if client_ca:
        server |= {"client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": client_ca}
    config: dict[str, object] = {"tls_server_config": server}
    if users:
        config["basic_auth_users"] = dict(users)
    return yaml_text(config)


def login_web_config(user: str, password: str) -> str:
    """TLS and one basic-auth user (Prometheus's and Alertmanager's admin)."""
    return web_config({user: web_password_hash(password, user)})
