"""One resource that stands for "every secret and access rule of the stack is in Vault".

The platform's services start only after Vault holds every secret (Vault is the system of
record). Depending on the SecretStore component itself made each of their containers
depend on every Vault resource of the stack (the SDK expands a component into its
children): with N agents, some 40 containers times about 9N dependencies, O(N^2) edges in
the state, and the SDK's cycle check copies a resource's dependency set at every edge it
adds (pulumi runtime/resource_cycle_breaker.py `_add_dep`), so quadratic work per
container. This marker depends on the store once; the services depend on the marker.

The order is the same as before, in every update: the SDK registers a resource only after
the URN of each dependency has resolved (runtime/resource.py `prepare_resource` awaits
`_resolve_depends_on_urns`), which it does when that dependency's registration returns,
and the engine answers a registration when its step (create, update or same) is done.
The marker is a one-byte pulumi-random RandomId: no side effect, nothing reads it, and
its inputs never change, so it is created once and never replaced.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.vault.component import SecretStore


def vault_written(name: str, store: SecretStore, parent: pulumi.Resource) -> random.RandomId:
    return random.RandomId(
        name,
        byte_length=1,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[store]),
    )
