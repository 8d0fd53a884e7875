"""The Pulumi program. No resource is created at import time: `main()` is called by
the project's `__main__.py` under the Pulumi CLI and by the offline runner under mocks."""

from __future__ import annotations

import os

import pulumi

from components.registry import REGISTRY
from infra import config_source, source_positions
from infra.assembly import Platform, PlatformArgs
from infra.config_source import ignored_keys, stack_config
from infra.docker_engine import EngineSettings
from infra.restored_volume import check_restored_volume
from infra.vault_audit_folder import check_audit_folder
from infra.vault_ca import STAND_IN, read_vault_ca
from stacks import Settings, load_settings
from stacks.images import placeholder_problems


def build(settings: Settings, vault_ca_pem: str = "") -> Platform:
    platform = Platform(settings.name_prefix, PlatformArgs(settings, vault_ca_pem))
    pulumi.export("environment", settings.environment)
    pulumi.export("caCertPem", platform.pki.ca_cert_pem)
    return platform


def main() -> Platform:
    source_positions.install()
    # Settings are validated completely before the first resource is registered: a
    # misconfigured stack fails at preview with every problem listed and nothing created.
    for key in ignored_keys():
        name = key.partition(":")[2] or key
        pulumi.log.warn(
            f"config key '{key}' is not read by vos-infra: its settings are "
            f"vos-infra:<name> (pulumi config rm '{key}' and set 'vos-infra:{name}')"
        )
    settings = load_settings(
        pulumi.get_stack(), stack_config(), REGISTRY, is_secret=config_source.is_secret
    )
    refuse_placeholder_images(settings)
    tolerant = only_warns()
    check_restored_volume(settings, offline=os.environ.get(OFFLINE) == "1")
    vault_ca = read_vault_ca(settings, tolerate_missing=tolerant)
    if vault_ca == STAND_IN:
        pulumi.log.warn(
            f"vault.caCertFile ({settings.vault.ca_cert_file}) does not exist yet: `pulumi up` "
            "will refuse the stack until it does ("
            + (
                "scripts/vault.sh start writes it)"
                if settings.environment == "dev"
                else "put the PEM of the CA that signed Vault's certificate there)"
            )
        )
    engine = EngineSettings.of(lambda key: pulumi.runtime.get_config(f"docker:{key}"))
    audit_warning = check_audit_folder(settings, tolerant, engine.values.get("host"))
    if audit_warning:
        pulumi.log.warn(audit_warning)
    return build(settings, vault_ca)


OFFLINE = "VOS_INFRA_OFFLINE"
"""Set by the offline runner (plan, render, check, the tests): they only warn."""


def only_warns() -> bool:
    """A preview or an offline evaluation: what a real update would refuse is a warning."""
    return pulumi.runtime.is_dry_run() or os.environ.get(OFFLINE) == "1"


class PlaceholderImages(RuntimeError):
    """Images pinned to placeholder digests cannot be deployed."""


def refuse_placeholder_images(settings: Settings) -> None:
    """A placeholder digest names no image a registry has: a preview or an offline
    evaluation warns, a real update stops before anything is created."""
    problems = placeholder_problems(settings.images())
    if not problems:
        return
    message = "\n".join(problems)
    if only_warns():
        pulumi.log.warn(f"{len(problems)} image(s) will be refused at `pulumi up`:\n{message}")
        return
    raise PlaceholderImages(f"nothing was created; pin these images first:\n{message}")
