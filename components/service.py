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
    job_result,
    service_placement,
)
from components.docker.spec import ContainerSpec, TlsFiles
from components.pki import Pki
from components.stack_networks import StackNetworks
from components.swarm.job import SwarmJob
from components.swarm.target import on_swarm
from components.vault import SecretStore
from stacks import Settings
from stacks.models import ServiceSettings
from stacks.services import ServiceDefinition

Deployed = docker.Container | docker.Service | SwarmJob
"""What runs a spec: a container on one host; a service, or a job, on a Swarm."""


@dataclass(frozen=True)
class ServiceArgs:
    settings: Settings
    pki: Pki
    credentials: Credentials
    networks: StackNetworks
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
        self._settings = args.settings
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
    ) -> Deployed:
        """A hardened container `<component>-<suffix>` (on a Swarm, a service or a job of
        that name), created after everything the component waits for (and `after`)."""
        self.specs[suffix] = spec
        if self._settings.target == "swarm":
            return on_swarm(
                f"{self._resource_name}-{suffix}",
                spec,
                placement or self.placement,
                self._settings,
                self,
                [*self._after, *after],
            )
        return hardened_container(
            f"{self._resource_name}-{suffix}",
            spec,
            placement or self.placement,
            self,
            [*self._after, *after],
        )

    def job_exit_code(self, job: Deployed, container_name: str) -> pulumi.Output[int]:
        """0 once a one-shot job succeeded; a failed job fails the update (JobFailed)."""
        if isinstance(job, docker.Container):
            return job_result(job, container_name)
        # A Swarm job's create waits for it and fails the update with its output
        # (components/swarm/job_provider.py): created means it ran to completion.
        return job.id.apply(lambda _: 0)
