"""The backup service's main process: Barman kept at work.

Every minute `barman cron` (it keeps pg_receivewal streaming through the replication slot,
files the WAL it received and applies the retention policy); a base backup whenever the
cron schedule comes round, and in the next minute while the server has none, since until
its first base backup the WAL alone restores nothing. Barman schedules neither itself.

Runs inside the image (Debian's python3 and python3-croniter); vos-infra renders its
arguments (components/postgres_backup/containers.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable

from croniter import croniter

TICK_S = 60.0


def next_backup(schedule: str, after: datetime.datetime) -> datetime.datetime:
    """The next time the schedule (UTC) comes round strictly after `after`."""
    found: datetime.datetime = croniter(schedule, after).get_next(datetime.datetime)
    return found


class Barman:
    def __init__(self, config: str, server: str) -> None:
        self.command = ["barman", "-c", config]
        self.server = server

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 (barman, with arguments the program rendered)
            [*self.command, *args], capture_output=True, text=True, check=False
        )
        # Barman's own words go to the container's log as they are, then the outcome.
        for stream in (done.stdout, done.stderr):
            if stream.strip():
                print(stream.rstrip(), file=sys.stderr)
        if done.returncode != 0:
            print(f"vos-backup: barman {' '.join(args)} exited {done.returncode}", file=sys.stderr)
        return done

    def cron(self) -> None:
        self.run("cron")

    def has_backup(self) -> bool:
        listed = self.run("--format", "json", "list-backups", self.server)
        if listed.returncode != 0:
            return False
        found = json.loads(listed.stdout or "{}").get(self.server, [])
        return any(b.get("status") == "DONE" for b in found)

    def backup(self) -> bool:
        # A fresh slot has shipped no WAL segment yet: switching makes the first one, which
        # `backup --wait` then waits for, so the backup is complete when it returns. Not
        # `--force`: its CHECKPOINT needs a superuser in Barman (pg_checkpoint is not enough).
        self.run("switch-wal", "--archive", "--archive-timeout", "120", self.server)
        return self.run("backup", "--wait", self.server).returncode == 0


def serve(
    barman: Barman,
    schedule: str,
    now: Callable[[], datetime.datetime],
    sleep: Callable[[float], None],
    rounds: int | None = None,
) -> None:
    """The loop; `rounds` bounds it (tests), None runs for ever. A server without a base
    backup (a new stack, or every attempt failed so far) gets one at the next round."""
    due = next_backup(schedule, now())
    done = 0
    while rounds is None or done < rounds:
        barman.cron()
        if now() >= due or not barman.has_backup():
            barman.backup()
            due = next_backup(schedule, now())
        done += 1
        sleep(TICK_S)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vos-backup")
    parser.add_argument("--config", required=True, help="barman.conf")
    parser.add_argument("--server", required=True, help="Barman's name for the server")
    parser.add_argument("--schedule", required=True, help="base backups: cron, UTC")
    args = parser.parse_args(argv)
    if not croniter.is_valid(args.schedule):
        parser.error(f"--schedule: not a cron expression: {args.schedule!r}")
    serve(
        Barman(args.config, args.server),
        args.schedule,
        now=lambda: datetime.datetime.now(datetime.UTC),
        sleep=time.sleep,
    )


if __name__ == "__main__":
    main()
