"""The stack's networks on Swarm: overlays spanning the nodes, in the roles of the single
host's (components/docker/networks.py) but the sidecars' way out to Vault: on Swarm a task
shares no volume with a sidecar, so the apps get their secrets at deploy time
(components/swarm/target.py) and nothing of the stack talks to Vault.

Every overlay is swarm-scoped and not attachable: only the stack's services join it, never
a container someone runs by hand on a node. `encrypted` turns on IPsec between nodes for the
overlay's data plane (the control plane is always TLS); the policy pack requires it
(swarm-overlays-encrypted). A kernel without IPsec ESP (the test machines' kernel) creates
an encrypted overlay that carries no traffic, which is why it is an argument."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.spec import RETRY_FAILED_CREATE

ENCRYPTED = "encrypted"
"""The overlay driver's option (docker network create --opt encrypted)."""
ENCRYPTED_LABEL = "vos.encrypted"
"""Whether the overlay is encrypted, as a label: how a change of the setting reaches the
engine. The provider stores the engine's Options on read, which add the overlay's VXLAN ids
to the program's `encrypted`, and the plugin SDK's map diff then replaces a network whose
state holds a key its configuration lacks (terraform-plugin-sdk helper/schema/schema.go
diffMap; `options` is ForceNew): every `up` would replace the network. So `options` is in
ignore_changes (the bridge drops every `options.*` difference before it decides a replace:
pulumi-terraform-bridge tfshim/sdk-v2 instance_diff.go processIgnoreChanges), which would
hide a change of `encrypted` too; the label (ForceNew, read back as set) replaces the network
when the setting changes."""


def overlay(
    name: str, network_name: str, *, internal: bool, encrypted: bool, parent: pulumi.Resource
) -> docker.Network:
    return docker.Network(
        name,
        name=network_name,
        driver="overlay",
        internal=internal,
        attachable=False,
        options={ENCRYPTED: ""} if encrypted else None,
        labels=[docker.NetworkLabelArgs(label=ENCRYPTED_LABEL, value=str(encrypted).lower())],
        opts=pulumi.ResourceOptions(
            parent=parent,
            delete_before_replace=True,
            replace_on_changes=[RETRY_FAILED_CREATE],
            ignore_changes=["options"],
        ),
    )


class SwarmNetworks(pulumi.ComponentResource):
    backend: docker.Network
    edge: docker.Network
    logs: docker.Network
    egress: docker.Network | None

    def __init__(
        self,
        name: str,
        prefix: str,
        *,
        encrypted: bool,
        egress: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vos:swarm:Networks", name, None, opts)

        def make(role: str, internal: bool) -> docker.Network:
            return overlay(f"{name}-{role}", f"{prefix}-{role}", internal=internal,
                           encrypted=encrypted, parent=self)  # fmt: skip

        self.backend = make("backend", internal=True)
        self.edge = make("edge", internal=False)
        self.logs = make("logs", internal=True)
        self.egress = make("egress", internal=False) if egress else None
        self.register_outputs({})

    def ref(self, network: docker.Network) -> pulumi.Output[str]:
        """How a service names a network it joins: by id (hardened_service says why)."""
        return network.id
