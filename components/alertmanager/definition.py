"""Alertmanager's identity (pure data): see stacks/services.py."""

from stacks.services import PASSWORD, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="alertmanager",
    dns_name="alertmanager",
    tls_port=9093,
    requires=("prometheus",),
    # Rotates with Prometheus's: Prometheus is its only client.
    credentials=(Credential("admin-password", "prometheus", PASSWORD, "web basic auth"),),
    image_uid=65534,  # nobody, the official image's user
    component="components.alertmanager.component:Alertmanager",
    # Its web config carries the password's hash: it restarts (on its data volume).
    restarts={"prometheus": ("alertmanager-server",)},
)


def receiver_secret_name(receiver: str) -> str:
    """Name, under Alertmanager's Vault folder and its secrets folder, of a receiver's
    secret (alerting.receivers)."""
    return f"receiver-{receiver}"
