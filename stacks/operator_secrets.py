"""Secrets the operator supplies to an app (an LLM provider's API key, a weather service's
key): `agents[].secrets.<NAME>` and `services.apiGateway.secrets.<NAME>`.

Each value must come from a Pulumi config secret (`pulumi config set --secret --path ...`),
so it is encrypted in Pulumi.<stack>.yaml and in the state; never from a profile (profiles
are in git). The program is told which config is secret by the engine, per top-level key
(`PULUMI_CONFIG_SECRET_KEYS`: a key is secret when any value inside it is; pulumi/pulumi
sdk/go/common/resource/config/map.go SecureKeys): a plain value beside a secret one in the
same key cannot be told apart at run time, so every value of an app's `secrets` must be set
with `--secret` and the docs say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stacks.problems import Problem, config_key
from stacks.services import Catalogue
from stacks.values import has_path

Path = tuple[str | int, ...]
IsSecret = Callable[[Path], bool]
"""Whether the config value at a path reached the program as a Pulumi secret."""

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,62}$")
RESERVED_PREFIXES = ("VOS_", "OTEL_")
"""The platform's own variables (components/app/contract.py): an operator's name may not
shadow them."""
RESERVED_NAMES = frozenset({"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY"})
"""The egress proxy's variables: the way out is the platform's to set."""


def name_problem(name: str, what: str = "secret") -> str | None:
    """What is wrong with the name of an app's secret (or plain setting), if anything."""
    if not NAME.match(name):
        return (
            f"'{name}' is not a {what} name: upper-case letters, digits and '_', starting "
            "with a letter"
        )
    if name.startswith(RESERVED_PREFIXES) or name.endswith("_FILE") or name in RESERVED_NAMES:
        return (
            f"'{name}' is reserved: names starting with {' or '.join(RESERVED_PREFIXES)}, "
            f"ending in _FILE, and {', '.join(sorted(RESERVED_NAMES))} are the platform's own"
        )
    return None


CREDENTIAL_LIKE = re.compile(r"KEY|SECRET|TOKEN|PASSW|DSN|CREDENTIAL|PRIVATE|AUTH")
"""A plain setting named like this would put a credential in the clear: it is a secret."""


def setting_problem(name: str) -> str | None:
    """What is wrong with the name of a plain per-app setting (`env`), if anything."""
    problem = name_problem(name, "setting")
    if problem:
        return problem
    if CREDENTIAL_LIKE.search(name):
        return (
            f"'{name}' looks like a credential, and a plain setting sits in the clear in the "
            "stack file and the container's definition"
        )
    return None


def file_name(name: str) -> str:
    """`GEMINI_API_KEY` -> `operator-gemini-api-key`: its Vault name and file, apart from the
    platform's generated credentials."""
    return "operator-" + name.lower().replace("_", "-")


def entries(raw: Mapping[str, Any], catalogue: Catalogue) -> Iterator[tuple[Path, Any]]:
    """(config path, value) of every operator secret of every app, the error tracker's DSN
    (every app's) and the backup store's secret key (the backup service's)."""
    services = raw.get("services")
    for definition in catalogue:
        if not definition.consumer or not isinstance(services, Mapping):
            continue
        service = services.get(definition.key)
        found = service.get("secrets") if isinstance(service, Mapping) else None
        if isinstance(found, Mapping):
            for name, value in found.items():
                yield ("services", definition.key, "secrets", str(name)), value
    backup = raw.get("backup")
    postgres = backup.get("postgres") if isinstance(backup, Mapping) else None
    s3 = postgres.get("s3") if isinstance(postgres, Mapping) else None
    if isinstance(s3, Mapping) and "secretAccessKey" in s3:
        yield ("backup", "postgres", "s3", "secretAccessKey"), s3["secretAccessKey"]
    tracking = raw.get("errorTracking")
    if isinstance(tracking, Mapping) and "sentryDsn" in tracking:
        yield ("errorTracking", "sentryDsn"), tracking["sentryDsn"]
    agents = raw.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        found = agent.get("secrets") if isinstance(agent, Mapping) else None
        if isinstance(found, Mapping):
            for name, value in found.items():
                yield ("agents", i, "secrets", str(name)), value


def problems(
    merged: Mapping[str, Any],
    profile: Mapping[str, Any],
    overrides: Mapping[str, Any],
    catalogue: Catalogue,
    is_secret: IsSecret | None,
) -> Iterator[Problem]:
    """Every operator secret that comes from a profile, or (when the program knows which
    config is secret: `is_secret`) that was not set as a Pulumi secret."""
    for path, _ in entries(merged, catalogue):
        fix = f"pulumi config set --secret --path '{config_key(path)}' <value>"
        if has_path(profile, path) and not has_path(overrides, path):
            yield Problem(
                path,
                "is in an environment profile, which is in git: an operator's secret belongs "
                "to one stack, encrypted",
                f"remove it from stacks/*.yaml, then {fix}",
            )
        elif is_secret is not None and not is_secret(path):
            yield Problem(path, "is not a Pulumi secret (it would sit in the clear)", fix)
