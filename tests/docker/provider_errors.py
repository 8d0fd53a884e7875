"""How the emulated provider fails: as the provider reports a resource's failure, and a
create that failed after the resource existed (kept by the engine with initialization
errors)."""

from __future__ import annotations

from typing import Any


class ProviderError(RuntimeError):
    """What the provider would report as the resource's failure."""


class PartialCreate(ProviderError):
    """A create that failed after the provider recorded the resource's id (d.SetId comes
    right after ContainerCreate): the engine keeps this state, with initialization errors."""

    def __init__(self, message: str, state: dict[str, Any]) -> None:
        super().__init__(message)
        self.state = state


def unknown_inputs(inputs: dict[str, Any], known: set[str], what: str) -> None:
    extra = {k for k, v in inputs.items() if v not in (None, [], {}, "")} - known
    if extra:
        raise ProviderError(f"{what}: inputs this emulation does not map: {sorted(extra)}")
