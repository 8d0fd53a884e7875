"""A second `up` converges: what the provider reads back is what the program sets, a failed
create fails every later `up` until it is fixed, and every change the program makes
reaches the engine.

Runs after test_platform_on_docker.py on the same applied stack (package fixture), which by
then has also been rotated and updated: convergence must hold after updates too.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

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


def test_a_failed_create_fails_every_later_up_until_it_is_fixed(stack: Stack) -> None:
    inside = _block_upload(stack, FAST)
    replace = frozenset({f"{FAST}-server-files"})
    with pytest.raises(Exception, match=r"cannot overwrite directory|not a directory"):
        stack.update(replace=replace)
    failed = stack.state.entries[("docker:index/container:Container", f"{FAST}-server-files")]
    assert failed.init_errors  # kept in the state, as the engine keeps a partial create
    # The next `up`, nothing changed: the engine replaces it (#initerror), it fails again.
    assert stack.preview().get(f"{FAST}-server-files") == "replace"
    with pytest.raises(Exception, match=r"cannot overwrite directory|not a directory"):
        stack.update()
    # Fixed: the next `up` creates it whole, and the service after it.
    carrier = stack.engine.api().inspect_container(failed.resource_id)
    volume = next(m for m in carrier["Mounts"] if m["Destination"] == "/etc/vos")["Name"]
    stack.engine.client().containers.run(
        stack.client.image.id,
        ["rm", "-rf", f"/v/{inside}"],
        volumes={volume: {"bind": "/v", "mode": "rw"}},
        remove=True,
    )
    fixed = stack.update()
    assert fixed.named(f"{FAST}-server-files").operation == "replace"
    assert _inspect(stack, f"{PREFIX}-{FAST}")["State"]["Health"]["Status"] == "healthy"
    stack.refresh()
    assert stack.preview() == {}


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


def test_changed_healthcheck_tmpfs_and_cpus_reach_the_engine(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider's Update applies neither a healthcheck nor tmpfs: the program replaces
    on them; `cpus` is ForceNew. Each new value is on the engine afterwards."""
    from components.alertmanager import containers as service
    from components.docker import spec

    original = _inspect(stack, f"{PREFIX}-{FAST}")

    def healthcheck(*args: Any, **kwargs: Any) -> spec.Healthcheck:
        return spec.Healthcheck(*args, **{**kwargs, "interval": "7s"})

    def tmpfs(uid: int, size: str = "64m", mode: str = "0700") -> str:
        return spec.tmpfs_options(uid, "32m", mode)

    monkeypatch.setattr(service, "Healthcheck", healthcheck)
    monkeypatch.setattr(service, "tmpfs_options", tmpfs)
    updated = stack.update(services={FAST: {"cpus": 0.5}})
    assert updated.named(f"{FAST}-server").operation == "replace"
    found = _inspect(stack, f"{PREFIX}-{FAST}")
    assert found["Id"] != original["Id"]
    assert found["Config"]["Healthcheck"]["Interval"] == 7 * 10**9
    assert found["HostConfig"]["NanoCpus"] == 500_000_000
    assert all("size=32m" in o for o in found["HostConfig"]["Tmpfs"].values())
    _healthy(stack, f"{PREFIX}-{FAST}")
    stack.refresh()
    assert stack.preview() == {}


def test_a_changed_network_option_replaces_the_network_on_the_engine(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Networks have fixed names and no Update: a changed option deletes the containers on
    it and the network first (delete-before-replace), then creates both again."""
    from components.docker import networks

    made = networks.docker.Network
    mtu = "com.docker.network.driver.mtu"

    def network(resource_name: str, **kwargs: Any) -> Any:
        if resource_name.endswith("-logs"):
            kwargs["options"] = {**kwargs["options"], mtu: "1400"}
        return made(resource_name, **kwargs)

    before = stack.engine.api().inspect_network(f"{PREFIX}-logs")
    monkeypatch.setattr(networks.docker, "Network", network)
    updated = stack.update()
    assert updated.named("networks-logs").operation == "replace"
    after = stack.engine.api().inspect_network(f"{PREFIX}-logs")
    assert after["Id"] != before["Id"] and after["Options"][mtu] == "1400"
    names = {c["Name"].lstrip("/") for c in after["Containers"].values()}
    assert f"{PREFIX}-loki" in names, names
    _healthy(stack, f"{PREFIX}-loki")
    stack.refresh()
    assert stack.preview() == {}
