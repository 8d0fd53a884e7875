"""The dev stack applied to the tier's engine, and the operations a user runs on it
(`up` again with other settings, `refresh`, `preview`), shared by the tier's modules."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from tests.docker import engine_share
from tests.docker.apply import EngineMocks, refresh
from tests.docker.engine import NOFILE, Engine
from tests.docker.images import BASE, NO_STAND_IN, Built, not_published, split_reference
from tests.docker.reference_image import build_reference_image, reference_context
from tests.helpers import output, profile, throwaway_server
from tests.integration.vault_server import point_at
from tools.dev_vault import HOST_GATEWAY, DevVault, interface_ipv4
from tools.offline.mocks import MockState
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

BACKUP_BASE = ("debian", "trixie-slim")
"""images/postgres-backup's default BASE. The tier has only its bookworm base, which stands
in under that name: the backup image built on it has Barman 3.4 and PostgreSQL 15's client,
for the tier's PostgreSQL 15 (the stacks' trixie base gives 17's, for postgres:17)."""
PRIMARY_IMAGE = "vos/primary-agent:1.0.0"
"""The tier runs the reference apps (apps/) as the stack's apps, no stand-in: the gateway and
the weather agent build them on the engine as the dev profile does (from the tier's copy of
apps/ with its wheels, tests/docker/reference_image.py), the primary agent names an image,
as a VOS team points `image:` at its own: the same reference image, built and tagged so
before the apply."""
OUTSIDE, OUTSIDE_PORT = "outside.test", 8443
"""The tier's stand-in for an outside API (tests/docker/test_egress.py starts it on the
egress network): the weather agent's one allowed destination. Its certificate is made before
the apply, so the weather agent is given its private CA as the operator secret EXTRA_CA."""
OPERATOR_SECRET = "WEATHER_API_KEY"
"""A secret the operator supplies to the weather agent (its API key for the outside)."""
PREFIX = "vos-dev"
BACKEND = f"{PREFIX}-backend"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    engine: Engine
    state: MockState
    config: StackConfig
    evaluation: Evaluation
    published: dict[str, int]
    """Service -> its host port (on 127.0.0.1)."""
    client: Container
    vault: DevVault
    reference_context: Path
    outside_tls: tuple[str, str]
    """The outside stand-in's certificate and key files (self-signed)."""
    """The build context the gateway and the weather agent were built from."""
    last_reasons: dict[str, list[str]] | None = None
    """The last preview's changed inputs per resource (what an assertion shows)."""

    def container(self, service: str) -> Container:
        return self.engine.client().containers.get(f"{PREFIX}-{service}")

    def inspect(self, name: str) -> dict[str, Any]:
        """A container as the engine reports it (by name or id)."""
        found: dict[str, Any] = self.engine.api().inspect_container(name)
        return found

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.inspect(name)["State"].get("Health") or {}).get("Status") == "healthy":
                return
            time.sleep(1)
        raise AssertionError(f"{name} did not become healthy again")

    def secret(self, resource: str) -> str:
        return str(output(self.evaluation.named(resource), "result"))

    def update(self, replace: frozenset[str] = frozenset(), **overrides: Any) -> Evaluation:
        """`pulumi up` (with `--replace` for the names given): fails as the update would."""
        self.config = with_overrides(self.config, **overrides)
        mocks = EngineMocks(self.engine, self.state, replace)
        self.evaluation = evaluate("dev", self.config, mocks=mocks)
        mocks.finish()
        return self.evaluation

    def merged(self, key: str, entries: dict[str, Any]) -> dict[str, Any]:
        """The stack's `vos-infra:<key>` object with some entries set, the others kept (as
        `pulumi config set --path` changes one): an override for `update`."""
        current = json.loads(self.config.values.get(f"vos-infra:{key}", "{}"))
        return {**current, **entries}

    def refresh(self) -> dict[tuple[str, str], str]:
        """`pulumi refresh`: what the providers' Reads changed in the state."""
        return refresh(self.engine, self.state)

    def preview(self, **overrides: Any) -> dict[str, str]:
        """`pulumi preview` of the same program and settings (some replaced, as
        `pulumi config set` before it would): every step but `same`."""
        mocks = EngineMocks(self.engine, self.state, preview=True)
        evaluate("dev", with_overrides(self.config, **overrides), mocks=mocks)
        gone = mocks.finish()
        self.last_reasons = mocks.reasons
        return {
            **{name: op for (_, name), op in mocks.steps.items() if op != "same"},
            **{name: "delete" for _, name in gone},
        }

    def run(self, *command: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """A command in the client container on the backend network."""
        code, out = self.client.exec_run(list(command), environment=env or {})
        return int(code), out.decode(errors="replace")


def put(container: Container, path: str, content: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size = len(content.encode())
        archive.addfile(info, io.BytesIO(content.encode()))
    container.put_archive("/", buffer.getvalue())


def applied_stack(
    engine: Engine, stand_ins: Built, vault: DevVault, times: dict[str, float]
) -> Iterator[Stack]:
    started = time.monotonic()
    with engine_share.building():  # the host process's Swarm stack builds it too
        context = reference_context(engine)
        reference = build_reference_image(engine, context)
    engine.api().tag(BASE, *BACKUP_BASE)
    engine.api().tag(reference, *split_reference(PRIMARY_IMAGE))
    times["reference image"] = time.monotonic() - started
    started = time.monotonic()
    outside_tls = throwaway_server(Path(tempfile.mkdtemp(prefix="vos-tier-outside-")), OUTSIDE)
    port, edge_port, prometheus_port = _free_port(), _free_port(), _free_port()
    published = {"weaviate": port, "edge": edge_port, "prometheus": prometheus_port}
    config = with_overrides(
        read_stack_config("dev"),
        # the services the tier cannot run: disabled, and their profile publication removed
        network={
            "publishedPorts": {
                **published,
                **not_published(profile("dev")["network"]["publishedPorts"]),
            }
        },
        services={
            **{key: {"enabled": False} for key in NO_STAND_IN},
            "apiGateway": {"build": {"context": str(context)}},
            # off in the dev profile; built on the engine from the profile's source folder
            "postgresBackup": {"enabled": True},
        },
        # one agent from its image, one built from source on the engine and allowed to
        # reach the outside stand-in
        agents=[
            {"name": "primary", "image": PRIMARY_IMAGE, "memoryMb": 512, "cpus": 0.5},
            {
                "name": "weather",
                "build": {"context": str(context)},
                "memoryMb": 512,
                "cpus": 0.5,
                "egress": [f"{OUTSIDE}:{OUTSIDE_PORT}"],
                "secrets": {
                    OPERATOR_SECRET: "tier-weather-key-1",
                    "EXTRA_CA": Path(outside_tls[0]).read_text(),
                },
            },
        ],
        # the role's open-files limit, as far as this machine allows it (engine.py NOFILE)
        limits={"nofile": NOFILE},
        # the tier's own dev Vault, reached by the sidecars as scripts/vault.sh's is
        vault={
            "address": f"https://{HOST_GATEWAY}:{vault.port}",
            "caCertFile": str(vault.ca_file),
        },
    )
    # the agents' operator secret set with `pulumi config set --secret`: the engine marks the
    # whole key secret
    config = StackConfig(config.values, [*config.secret_keys, "vos-infra:agents"])
    state = MockState()
    with pytest.MonkeyPatch.context() as patch:
        point_at(vault, patch)  # the program's Vault providers, as `pulumi up` gives them
        evaluation = evaluate("dev", config, mocks=EngineMocks(engine, state))
        times["apply"] = time.monotonic() - started
        # Back after an engine restart, like the services (test_fault_drills.py).
        client = engine.client().containers.run(
            stand_ins.tags["client"], name="vos-test-client", network=BACKEND, detach=True,
            restart_policy={"Name": "unless-stopped"},
        )  # fmt: skip
        applied = Stack(
            engine, state, config, evaluation, published, client, vault, context, outside_tls
        )
        put(client, "/ca.crt", str(output(evaluation.named("pki-ca-cert"), "certPem")))
        yield applied
        client.remove(force=True)


def bridge_gateway(engine: Engine, network: str) -> str:
    """The host-side address of a bridge network. Docker's IPAM config names the gateway
    only when dockerd assigned it: when the bridge interface (docker0) existed before the
    daemon started, the config carries the subnet alone and the address is the
    interface's."""
    found = engine.api().inspect_network(network)
    for config in found["IPAM"]["Config"] or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
    interface = (found.get("Options") or {}).get("com.docker.network.bridge.name")
    address = interface_ipv4(interface) if interface else None
    if address is None:
        raise AssertionError(f"network {network} has no gateway address: {found['IPAM']}")
    return address
