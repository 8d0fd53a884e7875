"""`vos-infra backup list|now|restore --stack S`: the settings say the stack's names and that
its backup service runs (and whether it backs Weaviate up); the engine (the stack's
docker:host, else DOCKER_HOST) does the rest (tools/backup/)."""

from __future__ import annotations

import datetime

import docker
import docker.errors

from components.postgres_backup.definition import DEFINITION as BACKUP
from infra.docker_engine import EngineSettingsError, engine_client
from stacks import Settings
from tools.backup.listing import list_backups
from tools.backup.now import take_now
from tools.backup.restore import RestoreError, backup_service, restore
from tools.backup.target import parse_target
from tools.backup.weaviate import run_tool
from tools.cli.stack_settings import stack_engine, stack_settings


def _settings(stack: str) -> Settings:
    settings = stack_settings(stack)
    if not settings.is_enabled(BACKUP.key):
        raise RestoreError(
            f"stack {stack} has no backup service: pulumi config set --path "
            f"'vos-infra:services.{BACKUP.key}.enabled' true, then pulumi up"
        )
    return settings


def _engine(stack: str) -> docker.DockerClient:
    """The engine `pulumi up` uses for the stack, reached as its Docker provider does."""
    try:
        engine = stack_engine(stack)
    except EngineSettingsError as error:
        raise RestoreError(f"the stack's Docker engine: {error}") from None
    try:
        return engine_client(engine)
    except (docker.errors.DockerException, EngineSettingsError) as error:
        raise RestoreError(
            f"cannot reach the stack's Docker engine at {engine.address}: {error}; set "
            "docker:host (or DOCKER_HOST) and its TLS (docker:certPath, or the "
            "docker:*Material settings, or their DOCKER_* variables) as for `pulumi up`"
        ) from None


def run_list(stack: str) -> str:
    settings = _settings(stack)
    try:
        return list_backups(_engine(stack), settings.name_prefix, settings.weaviate_backups)
    except docker.errors.APIError as error:
        raise RestoreError(f"the engine refused: {error}") from None


def run_now(stack: str) -> str:
    """A PostgreSQL base backup now, then Weaviate's (before maintenance)."""
    settings = _settings(stack)
    try:
        return "\n".join(take_now(_engine(stack), settings.name_prefix, settings.weaviate_backups))
    except docker.errors.APIError as error:
        raise RestoreError(f"the engine refused: {error}") from None


def run_weaviate_restore(stack: str, backup_id: str) -> str:
    settings = _settings(stack)
    if not settings.weaviate_backups:
        raise RestoreError(
            f"stack {stack} does not back Weaviate up (backup.weaviate.enabled, and both "
            "weaviate and postgresBackup enabled)"
        )
    try:
        done = run_tool(backup_service(_engine(stack), settings.name_prefix), "restore", backup_id)
    except docker.errors.APIError as error:
        raise RestoreError(f"the engine refused: {error}") from None
    return f"Weaviate restored: {done}"


def run_restore(stack: str, to: str, from_copies: bool = False) -> str:
    now = datetime.datetime.now(datetime.UTC)
    target = parse_target(to, now)  # before anything is made
    settings = _settings(stack)
    try:
        done = restore(_engine(stack), settings.name_prefix, target, now, from_copies=from_copies)
    except docker.errors.APIError as error:  # after restore() removed what it made
        raise RestoreError(f"the engine refused: {error}") from None
    lines = [
        f"restored PostgreSQL to {done.target.label()} into the volume {done.volume}"
        + (" from the sealed copies alone" if from_copies else ""),
        "(the stack's own data volume is untouched); PostgreSQL started on it and said:",
        *(f"  {line}" for line in done.replayed),
        "to run the stack's PostgreSQL on it (its own volume is kept; removing the setting "
        "goes back):",
        f"  pulumi config set --path 'vos-infra:backup.postgres.restoredVolume' {done.volume}",
        "  pulumi up",
    ]
    return "\n".join(lines)
