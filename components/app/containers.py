"""An app (the gateway or an agent) and its Vault Agent sidecar as ContainerSpecs (no
resources created here).

The sidecar logs in with the app's AppRole and renders the app's secrets into a tmpfs
volume both mount: the sidecar read-write, the app read-only. It runs as the app's uid, so
the files (0400) are the app's to read and nobody else's. It sits alone on the Vault
network (the only way out to Vault), the app only on the internal backend network: the app
cannot reach Vault, and the sidecar reaches no other service.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.app import contract
from components.app.contract import App
from components.docker.spec import (
    VAULT_AGENT_ROLE,
    BuildSource,
    ContainerSpec,
    Healthcheck,
    SharedMount,
    Upload,
    tmpfs_options,
)
from components.vault_agent import files as agent_files

UID = contract.APP_UID


@dataclass(frozen=True)
class AppTls:
    """The app's TLS files: server and client identity, the platform CA, the metrics CA."""

    server_cert: Any
    server_key: Any
    client_cert: Any
    client_key: Any
    ca: Any
    metrics_ca: Any

    def uploads(self) -> list[Upload]:
        return [
            Upload(contract.SERVER_CERT, self.server_cert, UID),
            Upload(contract.SERVER_KEY, self.server_key, UID, "0400", secret=True),
            Upload(contract.CLIENT_CERT, self.client_cert, UID),
            Upload(contract.CLIENT_KEY, self.client_key, UID, "0400", secret=True),
            Upload(contract.CA_CERT, self.ca, UID),
            Upload(contract.METRICS_CA_CERT, self.metrics_ca, UID),
        ]


def _ready_check(app: App) -> Healthcheck:
    # Readiness over HTTPS, verified like any client would (name and platform CA); the app's
    # own name resolves to itself inside its container. The VOS images are Python, so the
    # check needs nothing the contract does not already require (python3 on PATH).
    url = f"https://{app.dns_name}:{contract.HTTPS_PORT}{contract.READY_PATH}"
    script = (
        "import ssl, urllib.request; "
        f"urllib.request.urlopen({url!r}, timeout=4, "
        f"context=ssl.create_default_context(cafile={contract.CA_CERT!r}))"
    )
    return Healthcheck(["python3", "-c", script])


def app_spec(
    app: App,
    image: str,
    env: dict[str, str],
    tls: AppTls,
    secrets_volume: Any | None,
    build: BuildSource | None = None,
    secret_uploads: Sequence[Upload] = (),
) -> ContainerSpec:
    """`secrets_volume`: the tmpfs its sidecar renders into (one host); None on a Swarm,
    where the engine mounts `secret_uploads` at the same paths."""
    shared = [SharedMount(agent_files.SECRETS_DIR, secrets_volume, read_only=True)]
    return ContainerSpec(
        service=app.dns_name,
        image=image,
        build=build,
        # The image's own entrypoint and command start the app.
        command=[],
        user=f"{UID}:{UID}",
        env=env,
        uploads=tls.uploads(),
        engine_secrets=list(secret_uploads),
        tmpfs={contract.TMP_DIR: tmpfs_options(UID)},
        shared_mounts=shared if secrets_volume is not None else [],
        healthcheck=_ready_check(app),
        internal_ports=[contract.HTTPS_PORT, contract.METRICS_PORT],
    )


def sidecar_name(app: App) -> str:
    return f"{app.dns_name}{agent_files.SIDECAR_SUFFIX}"


def sidecar_spec(
    app: App,
    image: str,
    config: str,
    file_names: list[str],
    role_id: Any,
    secret_id: Any,
    vault_ca: str,
    secrets_volume: Any,
    extra_hosts: dict[str, str],
) -> ContainerSpec:
    """`config` is the agent.json (components/vault_agent/files.py); `file_names` the files
    it renders, which must all be there for the sidecar to be healthy (and the app to start)."""
    rendered = [f"{agent_files.SECRETS_DIR}/{name}" for name in file_names]
    return ContainerSpec(
        service=sidecar_name(app),
        image=image,
        entrypoint=["bao"],
        command=["agent", f"-config={agent_files.CONF}"],
        user=f"{UID}:{UID}",
        # The agent keeps its token in memory only (no sink): nothing else needs it.
        env={"SKIP_SETCAP": "1", "HOME": agent_files.TMP},
        uploads=[
            Upload(agent_files.CONF, config, UID),
            Upload(agent_files.ROLE_ID, role_id, UID, "0400", secret=True),
            Upload(agent_files.SECRET_ID, secret_id, UID, "0400", secret=True),
            Upload(agent_files.VAULT_CA, vault_ca, UID),
        ],
        tmpfs={agent_files.TMP: tmpfs_options(UID, size="16m")},
        shared_mounts=[SharedMount(agent_files.SECRETS_DIR, secrets_volume, read_only=False)],
        healthcheck=Healthcheck(
            ["sh", "-c", " && ".join(f"test -s {shlex.quote(p)}" for p in rendered) or "true"],
            interval="5s",
            start_period="10s",
        ),
        extra_hosts=extra_hosts,
        role=VAULT_AGENT_ROLE,
    )
