"""A stack's settings as the program would load them, from Pulumi.<stack>.yaml and its
profile: what the subcommands that act on a stack by name start from."""

from __future__ import annotations

from components.registry import REGISTRY
from infra.config_source import decode
from stacks import Settings, load_settings
from tools.offline.stack_files import read_stack_config

PREFIX = "vos-infra:"


def stack_settings(stack: str) -> Settings:
    config = read_stack_config(stack)
    values = {k[len(PREFIX) :]: decode(v) for k, v in config.values.items() if k.startswith(PREFIX)}
    return load_settings(stack, values, REGISTRY)


def stack_docker_host(stack: str) -> str | None:
    """The stack's `docker:host` (its Docker provider's engine), if it sets one."""
    value = read_stack_config(stack).values.get("docker:host")
    return str(value) if value else None
