"""The Platform: one ComponentResource that assembles the whole stack from Settings."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.credentials import Credentials, CredentialsArgs, credential_specs
from components.docker.networks import Networks
from components.pki import Pki, PkiArgs, certificate_specs
from components.postgres.component import Postgres, PostgresArgs
from components.rabbitmq.component import RabbitMq, RabbitMqArgs
from components.vault import SecretStore, SecretStoreArgs
from components.weaviate.component import Weaviate, WeaviateArgs
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
        service = pulumi.ResourceOptions(parent=self, depends_on=[self.vault])
        self.postgres = (
            Postgres(
                "postgres",
                PostgresArgs(settings, self.pki, self.credentials, self.networks),
                service,
            )
            if settings.is_enabled("postgres")
            else None
        )
        self.rabbitmq = (
            RabbitMq(
                "rabbitmq",
                RabbitMqArgs(settings, self.pki, self.credentials, self.networks),
                service,
            )
            if settings.is_enabled("rabbitmq")
            else None
        )
        self.weaviate = (
            Weaviate(
                "weaviate",
                WeaviateArgs(settings, self.pki, self.credentials, self.networks),
                service,
            )
            if settings.is_enabled("weaviate")
            else None
        )
        self.register_outputs({"caCertPem": self.pki.ca_cert_pem})
