"""One engine for the tier's pytest processes: `scripts/test.sh` runs the tier's host-layer
modules (marker `hosts`) in a pytest process of their own beside the modules on the applied
stack, on the same dockerd, because each mostly waits on the engine and one after the other
they took longer than CI's budget.

Two lock files under RUN order it (flock: the kernel drops a lock when its process dies, so
a killed run leaves none behind):
- USERS: each process holds a shared lock on it while it uses the engine. The first process
  (no other lock on it) starts dockerd and removes what an earlier run left; a later one
  joins; the last one to leave stops it.
- LOCK: held while a process starts, joins, leaves or stops the engine, and by a drill that
  restarts dockerd (Shared.alone), which first waits until it is the only user.
Run alone (`pytest tests/docker`), the one process is first and last.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.docker import engine as docker_engine
from tests.docker.engine import RUN, Engine

LOCK = RUN / "engine.lock"
USERS = RUN / "engine.users"
IMAGES = RUN / "images.lock"
"""Held while a process builds the stand-in images: the next one finds them built."""


@contextlib.contextmanager
def building() -> Iterator[None]:
    with _held(IMAGES):
        yield


@contextlib.contextmanager
def _held(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _only_user(users: IO[str]) -> bool:
    """Whether no other process holds a lock on USERS (then this one holds it exclusively)."""
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass
class Shared:
    engine: Engine
    users: IO[str]

    @contextlib.contextmanager
    def alone(self) -> Iterator[Engine]:
        """The engine with no other tier process using it, for a drill that stops dockerd:
        waits until the others are done (no new one can join meanwhile)."""
        with _held(LOCK):
            fcntl.flock(self.users, fcntl.LOCK_EX)
            try:
                yield self.engine
            finally:
                fcntl.flock(self.users, fcntl.LOCK_SH)


@contextlib.contextmanager
def joined() -> Iterator[Shared]:
    """The tier's engine, started if no other tier process runs it, stopped if no other
    one still uses it when this one is done."""
    RUN.mkdir(parents=True, exist_ok=True)
    with open(USERS, "a") as users:
        with _held(LOCK):
            engine = docker_engine.start() if _only_user(users) else docker_engine.attach()
            fcntl.flock(users, fcntl.LOCK_SH)
        try:
            yield Shared(engine, users)
        finally:
            fcntl.flock(users, fcntl.LOCK_UN)
            with _held(LOCK):
                if _only_user(users):
                    engine.stop()
                fcntl.flock(users, fcntl.LOCK_UN)
