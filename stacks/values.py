"""How raw configuration values are read, once for every rule that reads them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

try:  # PyYAML's documented idiom: CSafeLoader exists only when built with libyaml
    from yaml import CSafeLoader as _FAST_LOADER
except ImportError:  # pragma: no cover (PyYAML's wheels have libyaml)
    from yaml import SafeLoader as _FAST_LOADER  # type: ignore[assignment]


OFFLINE_SECRET_PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"  # noqa: S105
"""What an offline evaluation reads for a `secure:` value it cannot decrypt
(tools/offline/stack_files.py): a rule that judges a secret's content leaves it alone."""


def boolean(value: Any) -> bool | None:
    """true/false, or the strings "true"/"false" in any case (how `pulumi config set` may
    store them); anything else (yes, 1, on) is not a boolean here: None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def strict_boolean(value: Any) -> bool:
    found = boolean(value)
    if found is None:
        raise ValueError(f"{value!r} is not a boolean: write true or false")
    return found


class YamlFileError(ValueError):
    """A YAML file that does not parse: the file, line and column, in one message."""

    def __init__(self, path: Path, error: yaml.YAMLError) -> None:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        self.path, self.where = path, where
        super().__init__(
            f"{path.name} is not valid YAML at {where}: {problem}. "
            f"Fix: correct that line of {path} (an indentation or a missing ':' is the usual "
            "cause)"
        )


def load_yaml(path: Path) -> Any:
    """The file's document, read by libyaml's safe loader (~0.5 ms for a stack profile
    against ~4 ms in pure Python, at every evaluation). A file it refuses is read again by
    PyYAML's own parser, whose message names what is wrong (the tab, the undefined alias)
    where libyaml's does not."""
    text = path.read_text()
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise YamlFileError(path, error) from None


def has_path(data: Any, path: tuple[str | int, ...]) -> bool:
    """Whether `path` (map keys and list indices) leads to a value in `data`."""
    for part in path:
        in_list = isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data)
        in_map = isinstance(part, str) and isinstance(data, Mapping) and part in data
        if not (in_list or in_map):
            return False
        data = data[part]
    return True
