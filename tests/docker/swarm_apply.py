"""The tier's engine steps (apply.py) with the Swarm's resources performed on the manager
(provider_swarm.py): the Swarm modules' `pulumi up`, and the removal of what it made."""

from __future__ import annotations

from typing import Any

from tests.docker.apply import EngineMocks
from tests.docker.engine import Engine
from tests.docker.provider_swarm import SERVICE, SWARM_TYPES, SwarmProvider
from tests.docker.provider_swarm_read import unmatched
from tests.docker.swarm_hosts import Swarm
from tools.offline.mocks import MockState, Operation, Requested, StateEntry

FORCE_NEW = (".name", ".taskSpec.networksAdvanceds", ".taskSpec.containerSpec.hosts",
             ".mode.global")  # fmt: skip
"""A service's inputs whose change replaces it (resource_docker_service.go: ForceNew)."""


class SwarmMocks(EngineMocks):
    """The tier's engine steps (apply.py), the Swarm's resources on the manager; a second
    run compares the inputs with what the provider read back (provider_swarm_read.unmatched)."""

    def __init__(
        self, engine: Engine, swarm: Swarm, state: MockState, preview: bool = False
    ) -> None:
        super().__init__(engine, state, preview=preview)
        self.provider = SwarmProvider(swarm.api())  # type: ignore[assignment]

    @staticmethod
    def step(
        previous: StateEntry,
        inputs: dict[str, Any],
        trigger: Any,
        requested: Requested,
        forced: bool = False,
    ) -> Operation:
        if previous.type not in SWARM_TYPES:
            return EngineMocks.step(previous, inputs, trigger, requested, forced)
        # The bridge drops the differences under an ignored input before it plans.
        compared = {k: v for k, v in inputs.items() if k not in requested.ignore_changes}
        changed = unmatched(previous.outputs, compared)
        if not changed:
            return "same"
        if previous.type != SERVICE or any(p.startswith(FORCE_NEW) for p in changed):
            return "replace"  # a secret, config or network has no Update
        return "update"


def remove_stack(api: Any, stack: str, prefix: str) -> None:
    """What a Swarm module's program made: its services (by the stack label), then the
    configs, secrets and overlays they used (by name)."""
    for service in api.services(filters={"label": f"vos.stack={stack}"}):
        api.remove_service(service["ID"])
    for kind in ("secrets", "configs"):
        for item in getattr(api, kind)(filters={"name": prefix}):
            getattr(api, f"remove_{kind[:-1]}")(item["ID"])
    for network in _networks(api, prefix):
        api.remove_network(network["Id"])


def _networks(api: Any, prefix: str) -> list[dict[str, Any]]:
    # Not the API's name filter: dockerd 20.10 applies it to the overlays that have a local
    # endpoint on the manager only, and misses the others (seen on the tier's Swarm).
    return [n for n in api.networks() if n["Name"].startswith(f"{prefix}-")]
