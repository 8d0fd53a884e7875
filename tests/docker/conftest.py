"""The Docker tier: a dockerd of its own, stand-in images, the dev stack applied to it.

What is real: dockerd (Debian's docker.io) started with the host layer's daemon.json, the
program's networks, volumes and containers with every input the program sets, the provider's
calls in its order (provider.py), the uploads, healthchecks, the role jobs, TLS and
authentication between containers, the apps (the reference apps of apps/, built from their
Dockerfile). What is not: the other images are stand-ins built from Debian packages
(images/*/Dockerfile says what each emulates and where it differs), and the Pulumi engine is
the SDK's mock runtime (apply.py).

Runs in every `scripts/test.sh` (and so in CI): scripts/system-deps.sh installs docker.io
and debootstrap. Prints its own time at the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import load_settings
from tests.docker import engine_share
from tests.docker.engine import Engine
from tests.docker.engine_share import Shared
from tests.docker.images import NO_STAND_IN, Built, build_all, not_published
from tests.docker.stack import Stack, applied_stack
from tests.docker.swarm_hosts import Swarm, formed_swarm
from tests.helpers import profile, stack_overrides
from tests.integration.vault_server import free_port_pair
from tools.dev_vault import DOCKER_BRIDGE, DevVault

TIMES: dict[str, float] = {}
"""Seconds per phase of the tier, for the summary line."""
BUILT: list[Built] = []

SERVICES = [d for d in REGISTRY if d.component and d.key not in NO_STAND_IN]
"""Every other service of the registry that has containers; each but the apps (the reference
apps run for them) has a stand-in in images/<name> named like its DNS name
(tests/program/test_registry.py checks the folder exists)."""
SIDECAR_STAND_IN = "vault-agent"


# Package scope: the engine is left when the tier is done, so "total" is the tier's time.
@pytest.fixture(scope="package")
def shared_engine() -> Iterator[Shared]:
    started = time.monotonic()
    with engine_share.joined() as shared:
        TIMES["tier start"] = started
        try:
            yield shared
        finally:
            TIMES["total"] = time.monotonic() - started


@pytest.fixture(scope="package")
def engine(shared_engine: Shared) -> Engine:
    return shared_engine.engine


def without_stand_ins(config: dict[str, Any]) -> dict[str, Any]:
    """The tier's stack: the services it cannot run disabled and not published (a null
    removes the profile's entry)."""
    services = dict(config.get("services") or {})
    for key in NO_STAND_IN:
        services[key] = {**services.get(key, {}), "enabled": False}
    network = dict(config.get("network") or {})
    ports = profile("dev")["network"]["publishedPorts"]
    network["publishedPorts"] = {**(network.get("publishedPorts") or {}), **not_published(ports)}
    return {**config, "services": services, "network": network}


def stand_in_references() -> list[tuple[str, str]]:
    """(stand-in, image reference the dev stack names) for build_all. The apps and the
    services built from the project's source are built by the stack."""
    settings = load_settings("dev", without_stand_ins(stack_overrides("dev")), REGISTRY)
    apps = {d.key for d in SERVICES if d.consumer or d.source}
    references = [
        (d.dns_name, str(settings.service(d.key).image)) for d in SERVICES if d.key not in apps
    ]
    return [*references, (SIDECAR_STAND_IN, str(settings.vault.agent_image))]


@pytest.fixture(scope="package")
def stand_ins(engine: Engine) -> Built:
    started = time.monotonic()
    with engine_share.building():  # one tier process builds, the other reuses
        built = build_all(engine, stand_in_references())
    TIMES["images"] = time.monotonic() - started
    BUILT.append(built)
    return built


@pytest.fixture(scope="package")
def vault(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """The dev Vault as `scripts/vault.sh start` runs it, after dockerd made its bridge:
    on loopback for the program's providers and on docker0 for the sidecars, which dial
    https://host.docker.internal:<port> through Docker's host-gateway."""
    server = DevVault(tmp_path_factory.mktemp("tier-vault"), free_port_pair(), DOCKER_BRIDGE)
    server.start()
    assert server.container_address is not None, "dockerd made no docker0 bridge"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def stack(engine: Engine, stand_ins: Built, vault: DevVault) -> Iterator[Stack]:
    """The dev stack applied once for the tier; its modules run on it in MODULE_ORDER."""
    yield from applied_stack(engine, stand_ins, vault, TIMES)


@pytest.fixture(scope="package")
def swarm(
    engine: Engine, stand_ins: Built, vault: DevVault, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Swarm]:
    """The host layer's Swarm, formed once for the modules that use it (the Swarm services
    run on it first, then the host layer's swarm module changes it)."""
    folder = tmp_path_factory.mktemp("host-swarm")
    with formed_swarm(engine, stand_ins.tags, vault, folder) as made:
        yield made


MODULE_ORDER = (
    "test_after_up",
    "test_hardening",
    "test_files_and_secrets",
    "test_networks",
    "test_egress",
    "test_data_services",
    "test_apps",
    "test_monitoring",
    "test_app_signals",
    "test_backups",
    "test_contract_verify",
    "test_fault_drills",
    "test_rotation",
    "test_second_up",
    "test_engine_restart",
    "test_host_layer",
    "test_swarm_services",
    "test_swarm_jobs",
    "test_swarm_stack",
    "test_host_swarm",
)
"""The tier's modules share one applied stack: those that only look come first (the apps'
signals before test_backups switches PostgreSQL over: the apps' errors meanwhile would
raise the alerts test_app_signals must raise itself), then test_fault_drills, which crashes
its services (so the rest runs on what came back), then test_rotation, which updates it,
then test_second_up, which must converge after updates too, then test_engine_restart,
which stops the engine under everything. The host layer's modules (marker `hosts`) do not
use the stack: scripts/test.sh runs them in a pytest process of their own beside the
others, on the same engine (engine_share.py); the Swarm services run on the host layer's
Swarm before its own module drains a node. A module missing here is an error, so a new one
is placed on purpose."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tier's tests in MODULE_ORDER (file order within a module), in the slots the
    tier's tests already hold among all collected tests."""
    slots = [i for i, item in enumerate(items) if item.path.parent == Path(__file__).parent]
    tier = [items[i] for i in slots]
    unknown = {item.path.stem for item in tier} - set(MODULE_ORDER)
    if unknown:
        raise pytest.UsageError(f"tests/docker: add {sorted(unknown)} to MODULE_ORDER")
    ordered = sorted(tier, key=lambda item: MODULE_ORDER.index(item.path.stem))
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if "total" not in TIMES:
        return
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items() if k != "tier start")
    terminalreporter.write_line(f"docker tier: {phases}")
    for built in BUILT:
        made = ", ".join(f"{k} {v:.0f} s" for k, v in built.seconds.items()) or "none"
        terminalreporter.write_line(
            f"docker tier images: built {made}; reused {', '.join(built.reused) or 'none'}"
        )
