"""Where every secret lives in Vault, and who may read it. Pure functions.

Layout (KV v2):  <mount>/<pathPrefix>/<stack>/<service>/<name>
  e.g. secret/vos/dev/api-gateway/postgres-password   {"value": "..."}
       secret/vos/dev/postgres/tls      {"private_key_pem", "certificate_pem", "ca_pem"}
       secret/vos/dev/pki/ca                           {"private_key_pem", "certificate_pem"}
       secret/vos/dev/pki/metrics-ca                   (the same, for the metrics CA)
       secret/vos/dev/pki/readers-ca                   (the same, for the readers CA)
A service's policy reads `<mount>/data/<pathPrefix>/<stack>/<service>/*` and nothing else;
`pki/` (the CA keys) is readable by no service.
"""

from __future__ import annotations

from collections.abc import Sequence

from stacks import Settings

CA_OWNER = "pki"


def service_root(settings: Settings, service: str) -> str:
    return f"{settings.vault.path_prefix}/{settings.stack}/{service}"


def secret_path(settings: Settings, service: str, name: str) -> str:
    return f"{service_root(settings, service)}/{name}"


def policy_name(settings: Settings, service: str) -> str:
    return f"vos-{settings.stack}-{service}"


def policy_document(settings: Settings, service: str, also: Sequence[str] = ()) -> str:
    """Read its own folder; `also`: single secrets elsewhere it must read (paths as
    secret_path gives them), e.g. the gateway reads each agent's internal key to verify it."""
    root = service_root(settings, service)
    mount = settings.vault.mount
    lines = [
        f"# {service}: read its own secrets"
        + (", and the single secrets below" if also else ", nothing else"),
        f'path "{mount}/data/{root}/*" {{\n  capabilities = ["read"]\n}}',
        *(f'path "{mount}/data/{path}" {{\n  capabilities = ["read"]\n}}' for path in also),
    ]
    return "\n".join(lines) + "\n"


def cross_reads(settings: Settings) -> dict[str, list[str]]:
    """Service -> secrets outside its folder it reads: a service that defines a per-agent
    credential (the gateway's internal key) verifies it, so it reads every agent's."""
    return {
        definition.dns_name: [
            secret_path(settings, agent.dns_name, credential.name)
            for agent in settings.agents
            for credential in definition.per_agent
        ]
        for definition in settings.enabled_services()
        if definition.per_agent and settings.agents
    }
