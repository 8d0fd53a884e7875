"""What `--to` may say: `latest`, or a moment in the past with its time zone."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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

    def base_backup(self, kept: Sequence[Mapping[str, Any]]) -> str:
        """The base backup to start from (Barman's `list-backups` entries): the newest for
        everything; for a moment, the newest completed one that ended before it. Barman
        refuses a moment before the end of the backup it is given
        (barman/recovery_executor.py: RecoveryInvalidTargetException), so `latest` would
        restore only moments after the newest backup."""
        if self.moment is None:
            return "latest"
        done = sorted(
            (b for b in kept if b.get("status") == "DONE"),
            key=lambda b: float(b.get("end_time_timestamp") or 0),
        )
        before = [b for b in done if float(b["end_time_timestamp"]) < self.moment.timestamp()]
        if not before:
            earliest = (
                f"the end of {done[0]['backup_id']} ({done[0].get('end_time')})"
                if done
                else "none yet"
            )
            raise TargetError(
                f"--to {self.label()}: no base backup ended before it; the earliest moment "
                f"a restore reaches is {earliest} (`vos-infra backup list`)"
            )
        return str(before[-1]["backup_id"])

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
