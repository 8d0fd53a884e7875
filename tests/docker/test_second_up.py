"""A second `up` converges: what the provider reads back is what the program sets, a failed
create fails every later `up` until it is fixed, and every change the program makes
reaches the engine.

Runs after test_platform_on_docker.py on the same applied stack (package fixture), which by
then has also been rotated and updated: convergence must hold after updates too.
"""

from __future__ import annotations

import time
from typing import Any

from tests.docker.provider import PartialCreate
from tests.docker.stack import PREFIX, Stack

FAST = "alertmanager"
"""A service of the tier that starts in seconds, for the tests that replace one."""


def _inspect(stack: Stack, name: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.engine.api().inspect_container(name)
    return found


def test_after_up_a_refresh_and_a_preview_show_no_change(stack: Stack) -> None:
    refreshed = stack.refresh()
    assert refreshed == {}, f"the providers read back other values: {refreshed}"
    assert stack.preview() == {}, stack.last_reasons


def test_a_container_stopped_behind_the_engines_back_is_started_by_the_next_up(
    stack: Stack,
) -> None:
    """Read stores mustRun false for a stopped container: the next `up` updates it, and the
    provider's Update starts it."""
    stack.container(FAST).stop()
    stack.refresh()
    assert stack.preview() == {f"{FAST}-server": "update"}
    updated = stack.update()
    assert updated.named(f"{FAST}-server").operation == "update"
    assert _inspect(stack, f"{PREFIX}-{FAST}")["State"]["Running"]
    stack.refresh()
    assert stack.preview() == {}


def _block_upload(stack: Stack, service: str) -> str:
    """A directory where the service's first upload puts a file: the provider's copy
    (noOverwriteDirNonDir) is refused, after the container was created."""
    carrier = _inspect(stack, f"{PREFIX}-{service}-files")
    mount = next(m for m in carrier["Mounts"] if m["Destination"] == "/etc/vos")
    first = stack.evaluation.named(f"{service}-server-files").inputs["uploads"][0]["file"]
    inside = first.removeprefix("/etc/vos/")
    stack.engine.client().containers.run(
        stack.client.image.id,
        ["sh", "-c", f"rm -rf /v/{inside} && mkdir -p /v/{inside}/blocked"],
        volumes={mount["Name"]: {"bind": "/v", "mode": "rw"}},
        remove=True,
    )
    return inside


def test_without_retry_on_init_errors_the_engine_would_accept_the_failed_create(
    stack: Stack,
) -> None:
    """Control for the test above: the same partial state without `#initerror` in the
    resource's replaceOnChanges is only continued (an empty update), and the update
    succeeds with a container that never started."""
    from infra.offline.mocks import Requested, StateEntry
    from tests.docker.apply import EngineMocks

    entry = StateEntry("", "id-1", {"name": "x"}, {"name": "x"}, None, init_errors=True)
    assert EngineMocks.step(entry, {"name": "x"}, None, Requested()) == "update"
    retry = Requested(replace_on_changes=("#initerror",))
    assert EngineMocks.step(entry, {"name": "x"}, None, retry) == "replace"
    assert PartialCreate.__mro__[1].__name__ == "ProviderError"


def _healthy(stack: Stack, name: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while (_inspect(stack, name)["State"].get("Health") or {}).get("Status") != "healthy":
        assert time.monotonic() < deadline, f"{name} not healthy again"
        time.sleep(1)
