"""A stack's settings as the program would load them, from Pulumi.<stack>.yaml and its
profile: what the subcommands that act on a stack by name start from."""

from __future__ import annotations

from components.registry import REGISTRY
from infra.config_source import decode
from infra.docker_engine import SETTINGS, EngineSettings, EngineSettingsError
from stacks import Settings, load_settings
from tools.offline.stack_files import read_stack_config

PREFIX = "vos-infra:"


def stack_settings(stack: str) -> Settings:
    config = read_stack_config(stack)
    values = {k[len(PREFIX) :]: decode(v) for k, v in config.values.items() if k.startswith(PREFIX)}
    return load_settings(stack, values, REGISTRY)


def stack_engine(stack: str) -> EngineSettings:
    """The engine the stack's Docker provider reaches (infra/docker_engine.py). A secret
    material (`pulumi config set --secret`) cannot be read offline: its DOCKER_* variable,
    or docker:certPath, stands in for it."""
    config = read_stack_config(stack)

    def value(key: str) -> str | None:
        found = config.values.get(f"docker:{key}")
        if f"docker:{key}" in config.secret_keys:
            return None
        return str(found) if found else None

    engine = EngineSettings.of(value)
    for key in SETTINGS:
        if f"docker:{key}" in config.secret_keys and key not in engine.values:
            raise EngineSettingsError(
                f"docker:{key} is a secret, which only the Pulumi CLI decrypts: export "
                f"{SETTINGS[key]} with its value for this command"
            )
    return engine
