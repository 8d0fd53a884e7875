"""The stack's Docker networks: an internal backend, an edge for published services, Loki's
internal logs network, the sidecars' way out to Vault and (with the egress proxy) the
proxy's way out."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.spec import RETRY_FAILED_CREATE
from stacks import Settings

INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"
EGRESS_PROXY = "egressProxy"
"""The egress proxy's config key (components/egress_proxy/definition.py)."""


class Networks(pulumi.ComponentResource):
    backend: docker.Network
    """Internal and without an address on the host side: its containers reach each other
    and nothing else, the host included; databases and brokers live only here."""
    edge: docker.Network
    """Services with published ports join it as well."""
    logs: docker.Network
    """Loki's store and its gate only: internal, no host address, like the backend. Nothing
    else reaches the store; everyone else talks to the gate."""
    vault: docker.Network
    """The way out to Vault, for the apps' Vault Agent sidecars only (each alone with
    nothing but Vault to talk to): not internal, since Vault lives outside the stack (on
    the Docker host in dev, at vault.address in prod)."""
    egress: docker.Network | None
    """The egress proxy's way out (None without the proxy): not internal, and no other
    container of the stack joins it, so the apps reach the outside only through the proxy."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:docker:Networks", name, None, opts)
        # Fixed names: a replaced network (its options, `internal` and labels are ForceNew)
        # must be deleted before its successor is created under the same name.
        # A network left with initialization errors would fail every `up` ("doesn't support
        # update"): it is created again instead (spec.RETRY_FAILED_CREATE).
        child = pulumi.ResourceOptions(
            parent=self, delete_before_replace=True, replace_on_changes=[RETRY_FAILED_CREATE]
        )

        # `internal` alone stops forwarding, not traffic to the host: containers keep a
        # default route to the bridge's host-side address and reach every host service
        # listening on a wildcard address (seen on dockerd 20.10; tests/docker). With no
        # IPv4 address on the host side of the bridge there is no such path; peers on
        # the network still reach each other. (Docker's bridge driver option
        # com.docker.network.bridge.inhibit_ipv4: "prevent Docker from assigning an IP
        # address to the bridge".)
        def isolated(role: str) -> docker.Network:
            return docker.Network(
                f"{name}-{role}",
                name=f"{settings.name_prefix}-{role}",
                internal=True,
                options={INHIBIT_IPV4: "true"},
                opts=child,
            )

        self.backend = isolated("backend")
        self.edge = docker.Network(f"{name}-edge", name=f"{settings.name_prefix}-edge", opts=child)
        self.logs = isolated("logs")
        self.vault = docker.Network(
            f"{name}-vault", name=f"{settings.name_prefix}-vault", opts=child
        )
        self.egress = (
            docker.Network(f"{name}-egress", name=f"{settings.name_prefix}-egress", opts=child)
            if EGRESS_PROXY in settings.catalogue and settings.is_enabled(EGRESS_PROXY)
            else None
        )
        self.register_outputs({})

    def ref(self, network: docker.Network) -> pulumi.Output[str]:
        """How a container names a network it joins: by name (the provider reads a
        container's networks back by name)."""
        return network.name
