"""A second `up` converges: what the provider reads back is what the program sets, a failed
create fails every later `up` until it is fixed, and every change the program makes
reaches the engine.

Runs after the drills and the rotation on the tier's applied stack (conftest.py
MODULE_ORDER), which by then has been switched over, rotated and updated: convergence must
hold after updates too (and after an engine restart: test_engine_restart.py, last).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.docker.stack import PREFIX, Stack
from tools.offline.mocks import unwrap

FAST = "alertmanager"
"""A service of the tier that starts in seconds, for the tests that replace one."""


def test_after_up_a_refresh_and_a_preview_show_no_change(stack: Stack) -> None:
    refreshed = stack.refresh()
    assert refreshed == {}, f"the providers read back other values: {refreshed}"
    assert stack.preview() == {}, stack.last_reasons


def test_up_sh_refuses_the_hosts_where_memory_swap_would_not_converge(stack: Stack) -> None:
    """scripts/up.sh asks the engine for swap accounting; asked of this real dockerd, its
    verdict matches what the engine made of a container's memory_swap (equal to memory where
    swap is limited, -1 where it is not, which no preview gets past)."""
    host = stack.inspect(f"{PREFIX}-{FAST}")["HostConfig"]
    converges = host["MemorySwap"] == host["Memory"] > 0
    environment = {**os.environ, "DOCKER_HOST": stack.engine.url}
    root = Path(__file__).resolve().parents[2]
    asked = subprocess.run(["docker", "info", "--format", "{{.SwapLimit}}"], env=environment,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert asked.stdout.strip() in ("true", "false"), asked
    verdict = subprocess.run(["bash", "-c", "source scripts/lib.sh; docker_swap_limit_problem"],
                             cwd=root, env=environment, capture_output=True, text=True,
                             check=True)  # fmt: skip
    assert (verdict.stdout == "") == converges, (host["MemorySwap"], verdict.stdout)


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
    assert stack.inspect(f"{PREFIX}-{FAST}")["State"]["Running"]
    stack.refresh()
    assert stack.preview() == {}


def _in_config_volume(stack: Stack, service: str, script: str) -> None:
    """A shell script run on the service's config volume (mounted at /v)."""
    stack.engine.client().containers.run(
        stack.client.image.id,
        ["sh", "-c", script],
        volumes={f"{PREFIX}-{service}-config": {"bind": "/v", "mode": "rw"}},
        remove=True,
    )


def _block_upload(stack: Stack, service: str) -> str:
    """A directory where the service's first upload puts a file: the provider's copy
    (noOverwriteDirNonDir) is refused, after the container was created."""
    carried = unwrap(stack.evaluation.named(f"{service}-server-files").inputs)
    inside = carried["uploads"][0]["file"].removeprefix("/etc/vos/")
    _in_config_volume(stack, service, f"rm -rf /v/{inside} && mkdir -p /v/{inside}/blocked")
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
    again = stack.state.entries[("docker:index/container:Container", f"{FAST}-server-files")]
    assert again.init_errors and again.resource_id != failed.resource_id  # created anew
    # Fixed: the next `up` creates it whole, and the service after it.
    _in_config_volume(stack, FAST, f"rm -rf /v/{inside}")
    fixed = stack.update()
    assert fixed.named(f"{FAST}-server-files").operation == "replace"
    assert stack.inspect(f"{PREFIX}-{FAST}")["State"]["Health"]["Status"] == "healthy"
    stack.refresh()
    assert stack.preview() == {}


def test_without_retry_on_init_errors_the_engine_would_accept_the_failed_create(
    stack: Stack,
) -> None:
    """Control for the test above: the same partial state without `#initerror` in the
    resource's replaceOnChanges is only continued (an empty update), and the update
    succeeds with a container that never started."""
    from tests.docker.apply import EngineMocks
    from tools.offline.mocks import Requested, StateEntry

    entry = StateEntry("", "id-1", {"name": "x"}, {"name": "x"}, None, init_errors=True)
    assert EngineMocks.step(entry, {"name": "x"}, None, Requested()) == "update"
    retry = Requested(replace_on_changes=("#initerror",))
    assert EngineMocks.step(entry, {"name": "x"}, None, retry) == "replace"


def test_changed_healthcheck_tmpfs_and_cpus_reach_the_engine(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider's Update applies neither a healthcheck nor tmpfs: the program replaces
    on them; `cpus` is ForceNew. Each new value is on the engine afterwards."""
    from components.alertmanager import containers as service
    from components.docker import spec

    original = stack.inspect(f"{PREFIX}-{FAST}")

    def healthcheck(*args: Any, **kwargs: Any) -> spec.Healthcheck:
        return spec.Healthcheck(*args, **{**kwargs, "interval": "7s"})

    def tmpfs(uid: int, size: str = "64m", mode: str = "0700") -> str:
        return spec.tmpfs_options(uid, "32m", mode)

    monkeypatch.setattr(service, "Healthcheck", healthcheck)
    monkeypatch.setattr(service, "tmpfs_options", tmpfs)
    updated = stack.update(services=stack.merged("services", {FAST: {"cpus": 0.5}}))
    assert updated.named(f"{FAST}-server").operation == "replace"
    found = stack.inspect(f"{PREFIX}-{FAST}")
    assert found["Id"] != original["Id"]
    assert found["Config"]["Healthcheck"]["Interval"] == 7 * 10**9
    assert found["HostConfig"]["NanoCpus"] == 500_000_000
    assert all("size=32m" in o for o in found["HostConfig"]["Tmpfs"].values())
    stack.wait_healthy(f"{PREFIX}-{FAST}")
    stack.refresh()
    assert stack.preview() == {}


def test_a_changed_network_option_replaces_the_network_on_the_engine(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Networks have fixed names and no Update: a changed option deletes the containers on
    it and the network first (delete-before-replace), then creates both again."""
    from components.docker import networks

    mtu = "com.docker.network.driver.mtu"

    # A subclass, not a function: the SDK reads the components' annotations (which name
    # docker.Network) as types while it registers them.
    class WithMtu(networks.docker.Network):  # type: ignore[misc]
        def __init__(self, resource_name: str, **kwargs: Any) -> None:
            if resource_name.endswith("-vault"):
                kwargs["options"] = {**(kwargs.get("options") or {}), mtu: "1400"}
            super().__init__(resource_name, **kwargs)

    before = stack.engine.api().inspect_network(f"{PREFIX}-vault")
    monkeypatch.setattr(networks.docker, "Network", WithMtu)
    updated = stack.update()
    assert updated.named("networks-vault").operation == "replace"
    after = stack.engine.api().inspect_network(f"{PREFIX}-vault")
    assert after["Id"] != before["Id"] and after["Options"][mtu] == "1400"
    names = {c["Name"].lstrip("/") for c in after["Containers"].values()}
    sidecars = {f"{PREFIX}-{app}-vault-agent" for app in ("api-gateway", "primary-agent")}
    assert sidecars <= names, names  # the apps' Vault Agent sidecars, the vault network's own
    for sidecar in sidecars:
        stack.wait_healthy(sidecar)
    stack.refresh()
    assert stack.preview() == {}
