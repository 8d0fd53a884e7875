"""What `--to` may say: `latest`, or a moment in the past with its time zone."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


class TargetError(ValueError):
    """A `--to` that names no moment a restore can reach; said before anything is made."""


@dataclass(frozen=True)
class Target:
    moment: datetime.datetime | None
    """None: everything the backups hold (the newest WAL Barman has filed)."""

    @property
    def barman_args(self) -> list[str]:
        """`barman recover` options: replay to the moment, then promote (the restored copy
        becomes a primary of its own, ready for the stack to start on)."""
        if self.moment is None:
            return []
        return ["--target-time", self.moment.isoformat(), "--target-action", "promote"]

    def label(self) -> str:
        return "latest" if self.moment is None else self.moment.isoformat()


def parse_target(text: str, now: datetime.datetime) -> Target:
    if text == "latest":
        return Target(None)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TargetError(
            f"--to {text!r} is neither `latest` nor an ISO 8601 time, e.g. "
            "--to 2026-12-04T10:30:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise TargetError(
            f"--to {text!r} has no time zone, and the server's is not ours to guess: add one, "
            f"e.g. --to {text}+00:00"
        )
    if moment >= now:
        raise TargetError(f"--to {text!r} is not in the past (now: {now.isoformat()})")
    return Target(moment)
