"""Reading a docker.Container's inputs as the pack receives them (camelCase wire names,
numbers as floats, secrets in plaintext, unknowns as UNKNOWN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vos_policies.rule import UNKNOWN, Subject, elements, get


def env(subject: Subject) -> dict[str, Any]:
    """Environment variable -> value (UNKNOWN where not known); an unknown entry is kept
    under the key '?'."""
    found: dict[str, Any] = {}
    for entry in elements(subject.get("envs")):
        if entry is UNKNOWN or not isinstance(entry, str):
            found["?"] = UNKNOWN
            continue
        key, _, value = entry.partition("=")
        found[key] = value
    return found


@dataclass(frozen=True)
class File:
    path: Any
    content: Any
    mode: Any
    owner: Any


def files(subject: Subject) -> list[File]:
    """The container's uploads (UNKNOWN parts where not known)."""
    found = []
    for upload in elements(subject.get("uploads")):
        if upload is UNKNOWN:
            found.append(File(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN))
            continue
        found.append(
            File(
                get(upload, "file"),
                get(upload, "content", ""),
                get(upload, "permissions", "0644"),
                get(upload, "owner", "0"),
            )
        )
    return found


def labels(subject: Subject) -> dict[str, Any]:
    return {
        str(get(x, "label")): get(x, "value")
        for x in elements(subject.get("labels"))
        if x is not UNKNOWN
    }


def service(subject: Subject) -> str:
    """The service a container belongs to: its vos.service label, else hostname, else name."""
    for candidate in (labels(subject).get("vos.service"), subject.get("hostname"), subject.name):
        if isinstance(candidate, str) and candidate:
            return candidate
    return subject.name


def never_started(subject: Subject) -> bool:
    """A container the provider creates but never starts (a files carrier)."""
    return subject.get("start", True) is False


def long_running(subject: Subject) -> bool:
    """Started and kept running (not a one-shot job, not a files carrier)."""
    return not never_started(subject) and subject.get("mustRun", True) is not False


def ports(subject: Subject) -> list[Any]:
    return elements(subject.get("ports"))


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
