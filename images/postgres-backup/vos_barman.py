"""Barman as the backup service drives it: its commands, what it answers (backups, checks),
a base backup, and the reset of its WAL stream after a switch-over (there and back).

Runs inside the image beside vos_backup.py (Debian's python3 and barman)."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SWITCH_WAIT_S = 120.0
AHEAD = "receive-wal position is ahead of PostgreSQL current WAL"
"""Barman's refusal of `receive-wal --reset` when its stream is past the server's position
(barman/wal_archiver.py, StreamingWalArchiver.reset_status)."""
SET_ASIDE = "set-aside-wal"
"""Under barman_home: partial segments of a timeline the stream left, kept for a person."""
SWITCH_RETRY_S = 5.0


class Barman:
    def __init__(self, config: str, server: str) -> None:
        self.config = config
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

    def _json(self, *args: str) -> Any:
        """What Barman answered for the server; None when it did not answer (it failed, or
        printed no JSON)."""
        done = self.run("--format", "json", *args, self.server)
        if done.returncode != 0:
            return None
        try:
            return json.loads(done.stdout or "{}").get(self.server)
        except ValueError:
            return None

    def cron(self) -> None:
        self.run("cron")

    def backups(self) -> list[dict[str, Any]] | None:
        """The completed base backups, oldest first; None when Barman could not say (not
        the same as none: a failed listing must not start an unscheduled backup)."""
        found = self._json("list-backups")
        if not isinstance(found, list):
            return None
        done = [b for b in found if b.get("status") == "DONE"]
        return sorted(done, key=lambda b: int(b.get("end_time_timestamp") or 0))

    def checks(self) -> dict[str, bool]:
        """`barman check`, one entry per check (receive_wal_running, replication_slot, ...)."""
        found = self._json("check") or {}
        return {name: result.get("status") == "OK" for name, result in found.items()}

    def backup(self) -> bool:
        # A fresh slot has shipped no WAL segment yet: switching makes the first one, which
        # `backup --wait` then waits for, so the backup is complete when it returns. Not
        # `--force`: its CHECKPOINT needs a superuser in Barman (pg_checkpoint is not enough).
        self.segment_filed()
        return self.run("backup", "--wait", self.server).returncode == 0

    def reset_stream(self, within_s: float = SWITCH_WAIT_S) -> bool:
        """Streams from the server's current position and timeline. After a switch-over the
        stream names the old server's next segment, which a restored server (a timeline
        forked before it) refuses for ever: "requested starting point ... is not in this
        server's history" (tests/integration/test_postgres_switchover.py). Going back to the
        server switched away from, Barman refuses the reset itself: the stream's partial
        segment is of the restore's timeline, whose name sorts after any segment of the
        older one ("The receive-wal position is ahead of PostgreSQL current WAL lsn"). That
        segment is then set aside (SET_ASIDE; the restore's volume holds the same WAL) and
        the reset tried again."""
        self.run("receive-wal", "--stop", self.server)  # fails when none runs: fine

        def attempt() -> bool:
            done = self.run("receive-wal", "--reset", self.server)
            if done.returncode != 0 and AHEAD in done.stdout + done.stderr:
                self.run("archive-wal", self.server)  # files what the stream completed
                self.set_aside_partial()
                done = self.run("receive-wal", "--reset", self.server)
            return done.returncode == 0

        # Tried in short steps: the new server may not answer yet (restarting, recovering).
        return _tried(attempt, within_s)

    def set_aside_partial(self) -> None:
        home = Path(barman_home(self.config))
        aside = home / SET_ASIDE
        aside.mkdir(mode=0o700, exist_ok=True)
        for partial in (home / self.server / "streaming").glob("*.partial"):
            moved = aside / f"{partial.name}.{int(time.time())}"
            partial.rename(moved)
            print(f"vos-backup: set aside {partial.name} (another timeline's) as {moved}",
                  file=sys.stderr)  # fmt: skip

    def segment_filed(self, within_s: float = SWITCH_WAIT_S) -> bool:
        """Switches to a new WAL segment and waits until Barman has filed one, each try after
        a `barman cron` (it starts receive-wal: a cron run before the backup role existed
        started none, and one long wait for a stream nobody had started once failed CI)."""
        switch = ("switch-wal", "--archive", "--archive-timeout", "15", self.server)

        def attempt() -> bool:
            self.run("cron")
            return self.run(*switch).returncode == 0

        return _tried(attempt, within_s)


def _tried(attempt: Callable[[], bool], within_s: float) -> bool:
    """`attempt` every SWITCH_RETRY_S until it succeeds; False once `within_s` has passed."""
    deadline = time.monotonic() + within_s
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(SWITCH_RETRY_S)
    return True


def barman_home(config: str) -> str:
    """barman_home of the [barman] section: where Barman keeps each server's folder."""
    parser = configparser.ConfigParser()
    parser.read(config)
    return parser.get("barman", "barman_home")
