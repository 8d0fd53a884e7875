"""SecretStore: every generated secret written to Vault, plus per-service access."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.alertmanager.definition import DEFINITION as ALERTMANAGER
from components.alertmanager.definition import receiver_secret_name
from components.app.inputs import apps
from components.credentials import Credentials
from components.pki import Pki
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.vault.access import AppRole, Policy
from components.vault.kv_secret import KvSecret
from components.vault.layout import (
    CA_OWNER,
    cross_reads,
    policy_document,
    policy_name,
    secret_path,
)
from stacks import Settings, operator_secrets
from stacks.services import APPROLE_CLASS


@dataclass(frozen=True)
class SecretStoreArgs:
    settings: Settings
    credentials: Credentials
    pki: Pki


@dataclass(frozen=True)
class ServiceAccess:
    policy: Policy
    approle: AppRole


class SecretStore(pulumi.ComponentResource):
    secrets: dict[str, KvSecret]
    """'<service>/<name>' -> the Vault secret resource."""
    access: dict[str, ServiceAccess]
    """service -> its policy and AppRole."""

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:vault:SecretStore", name, None, opts)
        settings = args.settings
        vault = settings.vault
        owner = f"vos-infra/{settings.stack}"

        def secret(service: str, key: str, data: dict[str, pulumi.Input[str]]) -> None:
            self.secrets[f"{service}/{key}"] = KvSecret(
                f"{name}-{service}-{key}",
                mount=vault.mount,
                path=secret_path(settings, service, key),
                data=data,
                owner=owner,
                purge_on_delete=vault.purge_on_delete,
                insecure_skip_verify=vault.insecure_skip_verify,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.secrets = {}
        for spec in args.credentials.specs.values():
            secret(spec.service, spec.name, {"value": args.credentials.values[spec.id]})
        secret(
            CA_OWNER,
            "ca",
            {
                "private_key_pem": args.pki.ca_private_key_pem,
                "certificate_pem": args.pki.ca_cert_pem,
            },
        )
        secret(
            CA_OWNER,
            "metrics-ca",
            {
                "private_key_pem": args.pki.metrics_ca_private_key_pem,
                "certificate_pem": args.pki.metrics_ca_cert_pem,
            },
        )
        secret(
            CA_OWNER,
            "readers-ca",
            {
                "private_key_pem": args.pki.readers_ca_private_key_pem,
                "certificate_pem": args.pki.readers_ca_cert_pem,
            },
        )
        # Alertmanager's receivers' secrets (Pulumi secrets of the stack): Vault holds them
        # like every other credential; Alertmanager gets them as files.
        if settings.is_enabled(ALERTMANAGER.key):
            for receiver in settings.alerting.receivers:
                if receiver.secret is not None:  # an email relay without a login has none
                    secret(
                        ALERTMANAGER.dns_name,
                        receiver_secret_name(receiver.name),
                        {"value": pulumi.Output.secret(receiver.secret)},
                    )
        # The backup store's keys (backup.postgres.s3, the secret key a Pulumi secret): Vault
        # holds them like every other credential; the backup service gets them as a file.
        if (bucket := settings.backup_bucket) is not None:
            secret(
                BACKUP.dns_name,
                "s3-credentials",
                {
                    "access_key_id": bucket.access_key_id,
                    "secret_access_key": pulumi.Output.secret(bucket.secret_access_key),
                },
            )
        # The secrets the operator supplies to each app (Pulumi secrets of the stack), under
        # the app's own folder: its policy reads them, no other's does.
        for app in apps(settings):
            for secret_name, value in settings.operator_secrets(app.dns_name).items():
                secret(
                    app.dns_name,
                    operator_secrets.file_name(secret_name),
                    {"value": pulumi.Output.secret(value)},
                )
        for issued in args.pki.certificates.values():
            secret(
                issued.spec.owner_service,
                issued.spec.vault_name,
                {
                    "private_key_pem": issued.private_key_pem,
                    "certificate_pem": issued.cert_pem,
                    "ca_pem": args.pki.ca_cert_pem,
                },
            )

        # A policy and an AppRole per service: how a sidecar reads at run time. A Swarm has
        # no sidecars (its apps get their secrets at deploy time, components/swarm/target.py),
        # so no login is left lying around there.
        services = sorted({key.split("/", 1)[0] for key in self.secrets} - {CA_OWNER})
        self.access = {}
        also = cross_reads(settings)
        for service in services if settings.target != "swarm" else []:
            policy = Policy(
                f"{name}-{service}-policy",
                name=policy_name(settings, service),
                policy=policy_document(settings, service, also.get(service, ())),
                opts=pulumi.ResourceOptions(parent=self),
            )
            approle = AppRole(
                f"{name}-{service}-approle",
                role_name=policy_name(settings, service),
                policies=[policy.name],
                rotation=settings.rotation.counter(APPROLE_CLASS),
                mount=vault.approle_mount,
                secret_id_ttl=f"{vault.secret_id_ttl_hours}h",
                renew_before_s=vault.secret_id_renewal_hours * 3600,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.access[service] = ServiceAccess(policy, approle)
        self.register_outputs({})
