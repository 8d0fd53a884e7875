"""A bounded load while something happens (a drill, a rotation, a lost node): one call at a
time, every `interval` seconds at most, each call's outcome kept. Shared by the Swarm stack's
tests and the fault-drill and Swarm benchmarks."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple, Self


class Answer(NamedTuple):
    at: float
    """Monotonic time the call was made."""
    ok: bool
    took: float
    detail: str
    """What went wrong (empty when it passed)."""


Call = Callable[[], tuple[bool, str]]
"""A request: (it passed, what went wrong)."""


class BoundedLoad:
    def __init__(self, call: Call, interval: float) -> None:
        self.call, self.interval = call, interval
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ok, detail = self.call()
            except (OSError, http.client.HTTPException, ValueError) as error:
                ok, detail = False, repr(error)[:200]  # ValueError: an answer not JSON
            self.answers.append(Answer(started, ok, time.monotonic() - started, detail))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    @contextmanager
    def running(self) -> Iterator[Self]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=30)

    def window(self, since: float = 0.0, until: float = float("inf")) -> list[Answer]:
        return [a for a in self.answers if since <= a.at <= until]

    def failed(self, since: float = 0.0, until: float = float("inf")) -> list[Answer]:
        return [a for a in self.window(since, until) if not a.ok]

    def causes(self, most: int = 3) -> str:
        """The commonest reasons calls failed, with their counts ("" when none failed)."""
        counted = Counter(a.detail[:80] for a in self.failed())
        return "; ".join(f"{n} x {detail}" for detail, n in counted.most_common(most))

    def summary(self, since: float = 0.0, until: float = float("inf")) -> str:
        """Calls made in [since, until]: failed of all, and the slowest."""
        window = self.window(since, until)
        slowest = max((a.took for a in window), default=0.0)
        return (f"failed {len(self.failed(since, until))}/{len(window)}, "
                f"slowest {slowest:4.1f} s")  # fmt: skip
