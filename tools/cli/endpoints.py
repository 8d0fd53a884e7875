"""`vos-infra endpoints`: what to open after `pulumi up`, the CA to trust, and how to read
the administrators' credentials. From the settings alone (no evaluation, no Vault)."""

from __future__ import annotations

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.edge.definition import DEFINITION as EDGE
from components.grafana.definition import DEFINITION as GRAFANA
from components.grafana.settings_ini import ADMIN as GRAFANA_ADMIN
from components.prometheus.definition import DEFINITION as PROMETHEUS
from components.prometheus.files import ADMIN as PROMETHEUS_ADMIN
from stacks.services import credential_id
from tools.cli.stack_settings import stack_settings


def run_endpoints(stack: str) -> str:
    settings = stack_settings(stack)
    running = [d for d in settings.enabled_services() if d.component]
    lines = [f"stack {stack}: {', '.join(d.dns_name for d in running)} run on Docker"]
    if settings.agents:
        names = ", ".join(a.dns_name for a in settings.agents)
        lines.append(f"  agents: {names} (each app with its Vault Agent sidecar)")
    published = [d for d in running if settings.is_published(d.key)]
    host = "localhost" if settings.tls.localhost_sans else str(settings.network.bind_address)
    behind = {EDGE.key: f"{EDGE.dns_name} -> {GATEWAY.dns_name}"}
    # Who logs in where: the user whose password is the service's admin-password below.
    logins = {PROMETHEUS.key: PROMETHEUS_ADMIN, GRAFANA.key: GRAFANA_ADMIN}
    for d in published:
        port = settings.network.published_ports[d.key]
        login = f", user {logins[d.key]}" if d.key in logins else ""
        lines.append(f"  open  https://{host}:{port}  ({behind.get(d.key, d.dns_name)}{login})")
    if not published:
        lines.append(
            "  no running service is published on the host (network.publishedPorts); "
            "they are reached on the stack's internal network"
        )
    ca = f".state/{stack}-ca.pem"
    lines += [
        "the platform's CA (trust it to verify every endpoint):",
        f"  pulumi stack output caCertPem --stack {stack} > {ca}",
        f'  curl --cacert {ca} https://...   (eval "$(scripts/env.sh {stack})" first)',
        "administrator credentials, kept in Vault:",
    ]
    vault = settings.vault

    def read(owner: str, name: str) -> str:
        path = f"{vault.path_prefix}/{stack}/{credential_id(owner, name)}"
        return f"  .venv/bin/bao kv get -mount={vault.mount} -field=value {path}"

    for d in running:
        for credential in d.credentials:
            if "admin" in credential.name:
                lines.append(read(d.dns_name, credential.name))
    if any(d.key == GATEWAY.key for d in running):
        lines += [
            "the gateway's client API key (header X-API-Key):",
            read(GATEWAY.dns_name, "api-key"),
        ]
    lines.append(
        '  (with eval "$(scripts/env.sh '
        + stack
        + ')" and VAULT_TOKEN="$(cat "$VAULT_TOKEN_FILE")" exported)'
    )
    return "\n".join(lines)
