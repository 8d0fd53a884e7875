"""What every clause is given (the run) and the probes clauses share: readiness as the app
reports it, an API key taken or not, a condition awaited."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from components.app.contract import READY_PATH
from tools.contract.container import AppContainer
from tools.contract.dependencies import Dependencies
from tools.contract.otlp import OtlpReceiver
from tools.contract.probes import Peer
from tools.contract.subject import Subject

RELOAD_WITHIN_S = 35
"""The contract: re-read a secret file at least every 30 s (a little slack for the probe)."""


class ClauseFailed(Exception):
    pass


class ClauseNotChecked(Exception):
    """The stack gives the app nothing to check the clause against."""


@dataclass
class Run:
    app: AppContainer
    peer: Peer
    subject: Subject
    https: int
    metrics: int
    traces: OtlpReceiver | None
    dependencies: Dependencies | None
    """The stack's data services, unless verify runs without them."""


@dataclass(frozen=True)
class Clause:
    name: str
    section: str
    check: Callable[[Run], None]


def require(condition: bool, why: str) -> None:
    if not condition:
        raise ClauseFailed(why)


def until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return check()


def readiness(run: Run) -> list[str] | None:
    """None when /readyz answers 200, else what it says it waits for (503 and a JSON list
    `waiting_for`, never a secret's value, or ClauseFailed)."""
    answer = run.peer.call(run.https, "GET", READY_PATH)
    if answer.status == 200:
        return None
    require(answer.status == 503, f"GET {READY_PATH}: {answer.status}")
    values = [v for v in run.subject.secrets.values() if len(v) >= 8]
    require(not any(v in answer.body for v in values), f"{READY_PATH} shows a secret's value")
    try:
        waiting = json.loads(answer.body)["waiting_for"]
    except (ValueError, KeyError, TypeError):
        raise ClauseFailed(f"{READY_PATH}: no JSON `waiting_for`: {answer.body[:200]}") from None
    require(isinstance(waiting, list), f"`waiting_for` is not a list: {waiting!r}")
    return [str(x) for x in waiting]


def key_accepted(run: Run, key: str) -> bool:
    """Auth comes before routing: a caller it knows gets past 401 on any path (to a 404 on
    this one, or an answer), not to a refusal or a server error."""
    status = run.peer.call(run.https, "GET", "/contract/probe", {"X-API-Key": key}).status
    return status not in (401, 403) and status < 500
