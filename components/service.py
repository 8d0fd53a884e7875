"""What every service component is built from, and what each of them does the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
import pulumi_docker as docker

from components.credentials import Credentials
from components.docker.container import (
    Placement,
    dependencies_of,
    hardened_container,
    service_placement,
)
from components.docker.networks import Networks
from components.docker.spec import ContainerSpec, TlsFiles
from components.pki import Pki
from components.vault import SecretStore
from stacks import Settings
from stacks.models import ServiceSettings
from stacks.services import ServiceDefinition


@dataclass(frozen=True)
class ServiceArgs:
    settings: Settings
    pki: Pki
    credentials: Credentials
    networks: Networks
    vault: SecretStore
    vault_ca_pem: str
    """The CA that signed Vault's certificate (vault.caCertFile), for the apps' sidecars."""


class ServiceComponent(pulumi.ComponentResource):
    """A service of the registry as a ComponentResource. The base does what each of them
    repeats: the resource type, its settings slice, its placement, its server certificate as
    TLS files, the component's dependencies handed down to its containers (Pulumi does not
    pass them on), and `register_outputs` last. A subclass names its definition and resource
    type (`vos:<module>:<Name>`) and builds its containers in `build`."""

    definition: ClassVar[ServiceDefinition]
    resource_type: ClassVar[str]

    service: ServiceSettings
    placement: Placement
    tls: TlsFiles
    specs: dict[str, ContainerSpec]
    """Container suffix -> the spec it was built from (what each file is, as declared)."""

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.resource_type, name, None, opts)
        definition = self.definition
        self._resource_name = name
        self._after = dependencies_of(opts)
        self.specs = {}
        self.service = args.settings.service(definition.key)
        self.placement = service_placement(args.settings, definition, args.networks)
        issued = args.pki.certificates[definition.dns_name]
        self.tls = TlsFiles(issued.cert_pem, issued.private_key_pem, args.pki.ca_cert_pem)
        self.register_outputs(self.build(args))

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        """Create the service's resources; return the outputs to register."""
        raise NotImplementedError

    def container(
        self,
        suffix: str,
        spec: ContainerSpec,
        placement: Placement | None = None,
        after: Sequence[pulumi.Resource] = (),
    ) -> docker.Container:
        """A hardened container `<component>-<suffix>`, created after everything the
        component waits for (and `after`)."""
        self.specs[suffix] = spec
        return hardened_container(
            f"{self._resource_name}-{suffix}",
            spec,
            placement or self.placement,
            self,
            [*self._after, *after],
        )
