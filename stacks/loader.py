"""Build the typed Settings of a stack: environment profile + stack config, validated once.

`stacks/<environment>.yaml` holds the defaults of an environment; the stack's own config
(`vos-infra:*` keys in Pulumi.<stack>.yaml) overrides them key by key (maps merge, lists
and scalars replace). Every problem is collected and raised together as a SettingsError
before the program registers anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from stacks import operator_secrets
from stacks.models import Settings, settings_model
from stacks.problems import Problem, SettingsError, config_key
from stacks.rules import check_relations
from stacks.services import Catalogue
from stacks.values import has_path, load_yaml

PROFILES_DIR = Path(__file__).resolve().parent


def available_profiles(profiles_dir: Path = PROFILES_DIR) -> list[str]:
    return sorted(p.stem for p in profiles_dir.glob("*.yaml"))


ALTERNATIVES = (("image", "build"),)
"""Keys of which a map holds one: a stack that sets one replaces the profile's other (a VOS
team's `image` instead of the dev profile's reference-app `build`)."""
MISSING = "is required but not set"
"""How a field that has no value is reported (by a field rule or a cross rule)."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Maps merge key by key; anything else replaces. A null in the override removes the
    profile's key inside a map (e.g. a published port the stack does not want), so a stack
    can take away what its profile sets; of ALTERNATIVES, the override's choice wins."""
    merged = dict(base)
    for pair in ALTERNATIVES:
        for key in pair:
            if override.get(key) is not None:
                for other in pair:
                    if other != key and other not in override:
                        merged.pop(other, None)
    for key, value in override.items():
        if value is None:  # nothing to take away when the profile has no such key
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    stack: str,
    config: Mapping[str, Any],
    catalogue: Catalogue,
    profiles_dir: Path = PROFILES_DIR,
    is_secret: operator_secrets.IsSecret | None = None,
) -> Settings:
    """`config` maps un-namespaced keys ('tls', 'agents', ...) to decoded values; the
    catalogue names the services (and so the rotation classes) there are; `is_secret` says
    which config reached the program as a Pulumi secret (None: unknown, not checked)."""
    problems: list[Problem] = []
    model = settings_model(catalogue)
    top_level = [f.alias for f in model.model_fields.values() if f.alias and f.alias != "stack"]
    overrides: dict[str, Any] = {}
    for key, value in config.items():
        if key in top_level:
            overrides[key] = value
        else:
            problems.append(_unknown_key((key,), top_level, source=f"Pulumi.{stack}.yaml"))

    profile: dict[str, Any] = {}
    environment = overrides.get("environment")
    profiles = available_profiles(profiles_dir)
    if environment is None:
        problems.append(
            Problem(
                ("environment",),
                "is not set; it chooses the environment profile in stacks/",
                f"pulumi config set vos-infra:environment <{'|'.join(profiles)}>",
            )
        )
    elif environment not in profiles:
        problems.append(
            Problem(
                ("environment",),
                f"'{environment}' has no profile (stacks/{environment}.yaml does not exist)",
                f"pulumi config set vos-infra:environment <{'|'.join(profiles)}>",
                source=f"Pulumi.{stack}.yaml",
            )
        )
    else:
        loaded = load_yaml(profiles_dir / f"{environment}.yaml")
        profile = loaded if isinstance(loaded, dict) else {}
    if any(p.path == ("environment",) for p in problems):
        # Without a profile every other setting is missing: those follow-on problems would
        # bury the one that matters.
        raise SettingsError(stack, problems)

    merged = deep_merge(profile, overrides)
    merged["stack"] = stack
    settings: Settings | None = None
    try:
        settings = model.model_validate(merged)
    except ValidationError as exc:
        problems.extend(_from_pydantic(exc, model))
    problems.extend(check_relations(merged, catalogue))
    problems.extend(operator_secrets.problems(merged, profile, overrides, catalogue, is_secret))

    if problems:
        found = [_with_source(p, stack, overrides, profile) for p in problems]
        raise SettingsError(stack, [_explained(p, stack, overrides) for p in found])
    assert settings is not None
    return settings


STACK_NAME_FIX = (
    "pulumi stack rename <name> (1-31 lowercase letters, digits or '-', starting with a letter "
    "or digit; the stack's Docker objects are named vos-<name>-...)"
)


def _explained(problem: Problem, stack: str, overrides: Mapping[str, Any]) -> Problem:
    """Problems whose generic fix would mislead: a field missing from an agent of the
    stack's own list (which replaces the profile's), and a bad stack name."""
    if problem.path[:1] == ("stack",):
        return Problem(problem.path, problem.message, STACK_NAME_FIX, f"the stack name '{stack}'")
    in_own_list = problem.path[:1] == ("agents",) and "agents" in overrides
    if in_own_list and len(problem.path) == 3 and problem.message.startswith(MISSING):
        index, field = problem.path[1], problem.path[2]
        return Problem(
            problem.path,
            f"{problem.message}. The stack's vos-infra:agents list replaces the profile's (lists "
            "are not merged), so each agent there needs its name, image, memoryMb and cpus",
            f"pulumi config set --path 'vos-infra:agents[{index}].{field}' <value>; to add an "
            "agent to the profile's ones, copy them into the stack's list first (pulumi config "
            f"get --path vos-infra:agents --stack {stack} shows the list in use)",
            f"Pulumi.{stack}.yaml",
        )
    return problem


def _unknown_key(path: tuple[str | int, ...], known: list[str], source: str | None) -> Problem:
    name = str(path[-1])
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{guess[0]}'?)" if guess else f" (known: {', '.join(known)})"
    return Problem(
        path,
        f"'{name}' is not a known setting{hint}",
        f"pulumi config rm --path '{config_key(path)}'"
        + (f" and set '{config_key((*path[:-1], guess[0]))}' instead" if guess else ""),
        source=source,
    )


def _from_pydantic(exc: ValidationError, model: type[Settings]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(_unknown_key(path, _sibling_aliases(model, path), source=None))
            continue
        if error["type"] == "missing":
            message = MISSING
        else:
            message = f"{error['msg']} (got {error.get('input')!r})"
            message = message.replace("Value error, ", "")
        description = _description(model, path)
        hint = f"<{description}>" if description else "<value>"
        problems.append(
            Problem(path, message, f"pulumi config set --path '{config_key(path)}' {hint}")
        )
    return problems


def _field_model(
    root: type[BaseModel], path: tuple[str | int, ...]
) -> tuple[type[BaseModel] | None, str | None]:
    """The model that owns the last element of `path`, and that element's alias."""
    model: Any = root
    for part in path[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return None, None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    last = path[-1] if path else None
    return model, last if isinstance(last, str) else None


def _sibling_aliases(root: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    model, _ = _field_model(root, path)
    if model is None:
        return []
    return [f.alias for f in model.model_fields.values() if f.alias]


def _description(root: type[BaseModel], path: tuple[str | int, ...]) -> str | None:
    model, alias = _field_model(root, path)
    if model is None or alias is None:
        return None
    field = next((f for f in model.model_fields.values() if f.alias == alias), None)
    if field is None:
        return None
    if field.description:
        return field.description
    for meta in field.metadata:
        description = getattr(meta, "description", None)
        if description:
            return str(description)
    return None


def _with_source(
    problem: Problem, stack: str, overrides: Mapping[str, Any], profile: Mapping[str, Any]
) -> Problem:
    if problem.source is not None:
        return problem
    source = None
    if has_path(overrides, problem.path):
        source = f"Pulumi.{stack}.yaml"
    elif has_path(profile, problem.path):
        source = f"stacks/{profile.get('environment', '?')}.yaml"
    return Problem(problem.path, problem.message, problem.fix, source)
