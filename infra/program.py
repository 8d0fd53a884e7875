"""The Pulumi program. No resource is created at import time: `main()` is called by
the project's `__main__.py` under the Pulumi CLI and by the offline runner under mocks."""

from __future__ import annotations

import os

import pulumi

from components.registry import REGISTRY
from infra import config_source, source_positions
from infra.assembly import Platform, PlatformArgs
from infra.config_source import ignored_keys, stack_config
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
    refuse_undeployed_target(settings)
    refuse_placeholder_images(settings)
    tolerant = pulumi.runtime.is_dry_run() or os.environ.get(OFFLINE) == "1"
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
    return build(settings, vault_ca)


OFFLINE = "VOS_INFRA_OFFLINE"
"""Set by the offline runner (plan, render, check, the tests): they only warn."""


class PlaceholderImages(RuntimeError):
    """Images pinned to placeholder digests cannot be deployed."""


def refuse_placeholder_images(settings: Settings) -> None:
    """A placeholder digest names no image a registry has: a preview or an offline
    evaluation warns, a real update stops before anything is created."""
    problems = placeholder_problems(settings.images())
    if not problems:
        return
    message = "\n".join(problems)
    if pulumi.runtime.is_dry_run() or os.environ.get(OFFLINE) == "1":
        pulumi.log.warn(f"{len(problems)} image(s) will be refused at `pulumi up`:\n{message}")
        return
    raise PlaceholderImages(f"nothing was created; pin these images first:\n{message}")


class TargetNotDeployed(RuntimeError):
    """A target the settings know but the program does not deploy yet."""


def refuse_undeployed_target(settings: Settings) -> None:
    """`target: swarm` is validated (stacks/rules/swarm.py) and its building blocks exist
    (components/swarm, proven on a real Swarm by tests/docker/test_swarm_*.py), but the
    program does not assemble a stack from them yet (issue 25). Deploying the stack to one
    host instead would be a silent lie, so preview and `up` stop here."""
    if settings.target == "swarm":
        raise TargetNotDeployed(
            "nothing was created: vos-infra:target is 'swarm', and this version of vos-infra "
            "deploys a stack to one Docker host only (its Swarm services, jobs and overlays "
            "exist, the stack's assembly on them does not yet).\n"
            "  Fix: pulumi config set vos-infra:target docker"
        )
