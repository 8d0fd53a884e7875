"""Where every secret lives in Vault, and who may read it. Pure functions.

Layout (KV v2):  <mount>/<pathPrefix>/<stack>/<service>/<name>
  e.g. secret/vos/dev/api-gateway/postgres-password   {"value": "..."}
       secret/vos/dev/postgres/tls      {"private_key_pem", "certificate_pem", "ca_pem"}
       secret/vos/dev/pki/ca                           {"private_key_pem", "certificate_pem"}
       secret/vos/dev/pki/metrics-ca                   (the same, for the metrics CA)
A service's policy reads `<mount>/data/<pathPrefix>/<stack>/<service>/*` and nothing else;
`pki/` (the CA keys) is readable by no service.
"""

from __future__ import annotations

from infra.settings import Settings

CA_OWNER = "pki"


def service_root(settings: Settings, service: str) -> str:
    return f"{settings.vault.path_prefix}/{settings.stack}/{service}"


def secret_path(settings: Settings, service: str, name: str) -> str:
    return f"{service_root(settings, service)}/{name}"


def policy_name(settings: Settings, service: str) -> str:
    return f"vos-{settings.stack}-{service}"


def policy_document(settings: Settings, service: str) -> str:
    root = service_root(settings, service)
    return (
        f"# {service}: read its own secrets, nothing else\n"
        f'path "{settings.vault.mount}/data/{root}/*" {{\n  capabilities = ["read"]\n}}\n'
    )
