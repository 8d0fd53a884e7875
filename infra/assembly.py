"""The Platform: one ComponentResource that assembles the whole stack from Settings.

The shared layers first (PKI, credentials, Vault, networks), then one component per enabled
service of the registry that has one, in registry order, each created after every secret
is in Vault, then one per agent, each after its own secrets are.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pulumi

from components.agents.component import Agent
from components.app.component import vault_dependencies
from components.app.contract import App
from components.credentials import Credentials, CredentialsArgs, credential_specs
from components.docker.networks import EGRESS_PROXY, Networks
from components.pki import Pki, PkiArgs, certificate_specs
from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.service import ServiceArgs, ServiceComponent
from components.stack_networks import StackNetworks
from components.swarm.networks import SwarmNetworks
from components.vault import SecretStore, SecretStoreArgs
from components.vault.written import vault_written
from components.weaviate.definition import DEFINITION as WEAVIATE
from stacks import Settings
from stacks.services import ServiceDefinition


@dataclass(frozen=True)
class PlatformArgs:
    settings: Settings
    vault_ca_pem: str = ""
    """The CA that signed Vault's certificate (read from vault.caCertFile by the program);
    the apps' sidecars verify Vault with it."""


def component_class(definition: ServiceDefinition) -> type[ServiceComponent]:
    """The ComponentResource a definition names (`module:Class`), checked to be the one
    built for that definition."""
    assert definition.component is not None
    module, _, name = definition.component.partition(":")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, ServiceComponent)):
        raise TypeError(f"{definition.component} is not a ServiceComponent")
    if found.definition is not definition:
        raise TypeError(f"{definition.component} is built for {found.definition.key}")
    return found


def networks(settings: Settings, opts: pulumi.ResourceOptions) -> StackNetworks:
    """The target's networks: one host's bridges, or a Swarm's overlays."""
    if settings.target == "swarm":
        egress = EGRESS_PROXY in settings.catalogue and settings.is_enabled(EGRESS_PROXY)
        return SwarmNetworks(
            "networks",
            settings.name_prefix,
            encrypted=settings.swarm.encrypted_overlays,
            egress=egress,
            opts=opts,
        )
    return Networks("networks", settings, opts)


class Platform(pulumi.ComponentResource):
    settings: Settings
    pki: Pki
    credentials: Credentials
    vault: SecretStore
    networks: StackNetworks
    services: dict[str, ServiceComponent]
    """Service config key -> its component, for the enabled services that have one."""
    agents: dict[str, Agent]
    """Agent name -> its component."""

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:platform:Platform", name, None, opts)
        settings = self.settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.pki = Pki("pki", PkiArgs(settings, certificate_specs(settings)), child)
        self.credentials = Credentials(
            "credentials", CredentialsArgs(settings, credential_specs(settings)), child
        )
        self.vault = SecretStore(
            "vault", SecretStoreArgs(settings, self.credentials, self.pki), child
        )
        self.networks = networks(settings, child)
        # Vault is the system of record: a service starts only after every secret is in it,
        # through one marker that depends on the whole store (components/vault/written.py).
        self.vault_written = vault_written("vault-written", self.vault, self)
        after_vault = pulumi.ResourceOptions(parent=self, depends_on=[self.vault_written])
        service_args = ServiceArgs(
            settings, self.pki, self.credentials, self.networks, self.vault, args.vault_ca_pem
        )
        self.services: dict[str, ServiceComponent] = {}
        for definition in settings.enabled_services():
            if definition.component:
                self.services[definition.key] = component_class(definition)(
                    definition.dns_name, service_args, self._after(definition, after_vault)
                )
        # An agent waits for its own secrets in Vault only (components/app/component.py).
        self.agents = {
            agent.name: Agent(
                agent.dns_name,
                agent,
                service_args,
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=vault_dependencies(
                        self.vault, settings, App(agent.dns_name, "agent", agent.name)
                    ),
                ),
            )
            for agent in settings.agents
        }
        self.register_outputs({"caCertPem": self.pki.ca_cert_pem})

    def _after(
        self, definition: ServiceDefinition, after_vault: pulumi.ResourceOptions
    ) -> pulumi.ResourceOptions:
        """The backup service after PostgreSQL (its server and role job): on a switch-over
        to a restore its reset must meet the new server, not the old one it replaces
        (images/postgres-backup/vos_switchover.py), and on a first `up` its backup role
        exists before its first round."""
        if definition.key != BACKUP.key:
            return after_vault
        # And after Weaviate when it backs Weaviate up: Weaviate's container makes the
        # backups volume it mounts, and the roles job its Weaviate user's role.
        keys = (POSTGRES.key, *((WEAVIATE.key,) if self.settings.weaviate_backups else ()))
        before = [self.services[k] for k in keys if k in self.services]
        if not before:
            return after_vault
        return pulumi.ResourceOptions.merge(after_vault, pulumi.ResourceOptions(depends_on=before))
