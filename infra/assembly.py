"""The Platform: one ComponentResource that assembles the whole stack from Settings."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.credentials import Credentials, CredentialsArgs, credential_specs
from components.docker.networks import Networks
from components.pki import Pki, PkiArgs, certificate_specs
from components.postgres.component import Postgres
from components.rabbitmq.component import RabbitMq
from components.service_args import ServiceArgs
from components.vault import SecretStore, SecretStoreArgs
from components.weaviate.component import Weaviate
from infra.settings import Settings


@dataclass(frozen=True)
class PlatformArgs:
    settings: Settings


class Platform(pulumi.ComponentResource):
    pki: Pki
    credentials: Credentials
    vault: SecretStore
    networks: Networks
    postgres: Postgres | None
    rabbitmq: RabbitMq | None
    weaviate: Weaviate | None

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:platform:Platform", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.pki = Pki("pki", PkiArgs(settings, certificate_specs(settings)), child)
        self.credentials = Credentials(
            "credentials", CredentialsArgs(settings, credential_specs(settings)), child
        )
        self.vault = SecretStore(
            "vault", SecretStoreArgs(settings, self.credentials, self.pki), child
        )
        self.networks = Networks("networks", settings, child)
        # Vault is the system of record: a service starts only after every secret is in it.
        after_vault = pulumi.ResourceOptions(parent=self, depends_on=[self.vault])
        services = ServiceArgs(settings, self.pki, self.credentials, self.networks)
        enabled = settings.is_enabled
        self.postgres = Postgres("postgres", services, after_vault) if enabled("postgres") else None
        self.rabbitmq = RabbitMq("rabbitmq", services, after_vault) if enabled("rabbitmq") else None
        self.weaviate = Weaviate("weaviate", services, after_vault) if enabled("weaviate") else None
        self.register_outputs({"caCertPem": self.pki.ca_cert_pem})
