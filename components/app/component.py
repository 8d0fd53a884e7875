"""An app's resources, the same for the gateway and every agent: a tmpfs volume for its
secrets, its Vault Agent sidecar (created first and healthy once every secret is
rendered), then the app container, which starts on those files.

A rotation writes a new version to Vault; the sidecar renders it within its render interval
and neither container is replaced (the app re-reads its `*_FILE`s, per the contract). What
the containers receive at deploy time (TLS files, the AppRole's secret id) replaces them
when it changes, like every other service's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import pulumi
import pulumi_docker as docker

from components.app import contract
from components.app.containers import AppTls, app_spec, sidecar_name, sidecar_spec
from components.app.contract import App
from components.app.inputs import environment, readable_secrets
from components.docker.container import Placement, hardened_container
from components.docker.networks import Networks
from components.docker.spec import BuildSource, ContainerSpec, Upload
from components.service import Deployed, ServiceArgs
from components.swarm.target import on_swarm
from components.vault import SecretStore
from components.vault.layout import secret_path
from components.vault_agent.files import SECRETS_DIR, SecretFile, agent_config
from stacks import Settings
from stacks.docker_values import HOST_GATEWAY
from stacks.images import project_path
from stacks.models import BuildSettings

SIDECAR_MEMORY_MB = 64
SIDECAR_CPUS = 0.25


def secret_files(settings: Settings, app: App) -> list[SecretFile]:
    """What the app's sidecar renders: each secret's `value` to its contract file name."""
    return [
        SecretFile(
            settings.vault.mount,
            secret_path(settings, secret.owner, secret.name),
            "value",
            secret.file_name(app),
        )
        for secret in readable_secrets(settings, app)
    ]


def vault_dependencies(store: SecretStore, settings: Settings, app: App) -> list[pulumi.Resource]:
    """What an app's containers wait for in Vault: its policy, its AppRole and the secrets
    its sidecar reads; not every secret of the stack, which would make each of N agents
    depend on O(N) resources (O(N^2) in all)."""
    read: list[pulumi.Resource] = [
        store.secrets[f"{s.owner}/{s.name}"] for s in readable_secrets(settings, app)
    ]
    access = store.access.get(app.dns_name)  # none on a Swarm: no sidecar logs in
    return [access.policy, access.approle, *read] if access else read


def _secrets_volume_options(uid: int) -> dict[str, str]:
    # A tmpfs (Docker's local driver mounts it when the first container using it starts):
    # the secrets never touch a disk, and only the app's uid can enter the folder.
    return {
        "type": "tmpfs",
        "device": "tmpfs",
        "o": f"size=1m,mode=0700,uid={uid},gid={uid},noexec,nosuid,nodev",
    }


@dataclass(frozen=True)
class AppContainers:
    app: Deployed
    sidecar: docker.Container | None
    """None on a Swarm: the secrets arrive at deploy time (components/swarm/target.py)."""
    specs: dict[str, ContainerSpec]
    """Container suffix (`app`, `vault-agent`) -> its spec."""


class Runs(Protocol):
    """What an app's settings say it runs (ServiceSettings, AgentSettings)."""

    @property
    def image_reference(self) -> str: ...

    @property
    def build(self) -> BuildSettings | None: ...


class Replicated(Runs, Protocol):
    """An app's settings: what it runs and how many tasks (on a Swarm)."""

    @property
    def replicas(self) -> int: ...


def build_source(runs: Runs) -> BuildSource | None:
    if runs.build is None:
        return None
    context = project_path(runs.build.context)
    return BuildSource(str(context), str(context / runs.build.dockerfile))


def _tls(args: ServiceArgs, app: App) -> AppTls:
    server = args.pki.certificates[app.dns_name]
    client = args.pki.certificates[f"{app.dns_name}-client"]
    return AppTls(
        server.cert_pem,
        server.private_key_pem,
        client.cert_pem,
        client.private_key_pem,
        args.pki.ca_cert_pem,
        args.pki.metrics_ca_cert_pem,
    )


def _written_value(data: dict[str, str]) -> str:
    return data["value"]


def _on_swarm(
    parent: pulumi.Resource,
    name: str,
    app: App,
    runs: Replicated,
    placement: Placement,
    args: ServiceArgs,
    after: Sequence[pulumi.Resource],
) -> AppContainers:
    """The app alone, its secrets as Swarm secrets at the paths its sidecar would render,
    each the value the program wrote to Vault."""
    settings = args.settings
    uploads = [
        Upload(
            f"{SECRETS_DIR}/{secret.file_name(app)}",
            args.vault.secrets[f"{secret.owner}/{secret.name}"].data.apply(_written_value),
            contract.APP_UID,
            "0400",
            secret=True,
        )
        for secret in readable_secrets(settings, app)
    ]
    main = app_spec(
        app, runs.image_reference, environment(settings, app), _tls(args, app), None,
        build_source(runs), uploads,
    )  # fmt: skip
    deployed = on_swarm(
        f"{name}-app", main, placement, settings, parent, after, replicas=runs.replicas, app=True
    )
    return AppContainers(deployed, None, {"app": main})


def app_containers(
    parent: pulumi.Resource,
    name: str,
    app: App,
    runs: Replicated,
    placement: Placement,
    args: ServiceArgs,
    after: Sequence[pulumi.Resource] = (),
) -> AppContainers:
    settings = args.settings
    if settings.target == "swarm":
        return _on_swarm(parent, name, app, runs, placement, args, after)
    assert isinstance(args.networks, Networks), "one host's networks"
    child = pulumi.ResourceOptions(parent=parent)
    volume = docker.Volume(
        f"{name}-secrets",
        name=f"{placement.name_prefix}-{app.dns_name}-secrets",
        driver="local",
        driver_opts=_secrets_volume_options(contract.APP_UID),
        opts=child,
    )
    files = secret_files(settings, app)
    access = args.vault.access[app.dns_name]
    vault_host = urlsplit(settings.vault.address).hostname
    sidecar = sidecar_spec(
        app,
        image=str(settings.vault.agent_image),
        config=agent_config(settings.vault.address, files),
        file_names=[f.file_name for f in files],
        role_id=access.approle.role_id,
        secret_id=access.approle.secret_id,
        vault_ca=args.vault_ca_pem,
        secrets_volume=volume.name,
        extra_hosts={HOST_GATEWAY: "host-gateway"} if vault_host == HOST_GATEWAY else {},
    )
    main = app_spec(
        app,
        runs.image_reference,
        environment(settings, app),
        _tls(args, app),
        volume.name,
        build_source(runs),
    )
    helper = placement.for_helper(
        args.networks.vault.name, memory_mb=SIDECAR_MEMORY_MB, cpus=SIDECAR_CPUS
    )
    agent = hardened_container(f"{name}-vault-agent", sidecar, helper, parent, [*after, volume])
    container = hardened_container(f"{name}-app", main, placement, parent, [*after, agent])
    return AppContainers(container, agent, {"app": main, "vault-agent": sidecar})


__all__ = [
    "AppContainers",
    "app_containers",
    "secret_files",
    "sidecar_name",
    "vault_dependencies",
]
