"""Configuration problems and how they are reported.

Every problem names the Pulumi config key (in `pulumi config set --path` syntax), says what
is wrong and how to fix it. All problems of a stack are raised together, before the program
registers any resource, so a misconfigured stack fails at preview with nothing created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NAMESPACE = "vos-infra"


def config_key(path: Sequence[str | int]) -> str:
    """('tls', 'validityHours') -> 'vos-infra:tls.validityHours'; list indices as [i]."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return f"{NAMESPACE}:{text}"


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    message: str
    fix: str
    source: str | None = None
    """Where the offending value came from (the stack file or the profile), if it exists."""

    @property
    def key(self) -> str:
        return config_key(self.path)

    def render(self) -> str:
        where = f" (value from {self.source})" if self.source else ""
        return f"{self.key}{where}: {self.message}\n    Fix: {self.fix}"


class SettingsError(ValueError):
    """Raised with every problem of a stack's configuration at once."""

    def __init__(self, stack: str, problems: Sequence[Problem]) -> None:
        self.stack = stack
        self.problems = list(problems)
        count = len(self.problems)
        head = (
            f"stack '{stack}' has {count} configuration problem{'s' if count != 1 else ''};"
            " nothing was created:"
        )
        super().__init__("\n".join([head, *("  - " + p.render() for p in self.problems)]))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]
