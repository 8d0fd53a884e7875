"""Run the image, check each clause in order, print one line per clause. A clause that
fails when the app does not even run leaves the others unchecked (said so, not passed)."""

from __future__ import annotations

from dataclasses import dataclass
from http.client import HTTPException

import docker
import docker.errors

from tools.contract.clauses import (
    CLAUSES,
    NOT_CHECKED,
    PROVEN,
    ClauseFailed,
    ClauseNotChecked,
    Run,
)
from tools.contract.container import AppContainer
from tools.contract.errors import VerifyError
from tools.contract.otlp import OtlpReceiver
from tools.contract.probes import Peer
from tools.contract.subject import Role, subject


@dataclass(frozen=True)
class Result:
    clause: str
    section: str
    outcome: str
    """`passed`, `FAILED` or `not checked`."""
    why: str = ""

    def line(self) -> str:
        why = f": {self.why}" if self.why else ""
        return f"{self.outcome:11} {self.clause} ({self.section}){why}"


def verify(image: str, role: Role) -> list[Result]:
    try:
        client = docker.from_env()
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise VerifyError(f"no image {image!r} on the engine: build or pull it first") from None
    except docker.errors.DockerException as error:
        raise VerifyError(f"no Docker engine reachable (DOCKER_HOST): {error}") from None
    given = subject(role)
    results: list[Result] = []
    app = AppContainer(client, image, given)  # removes what it made if it fails
    peer: Peer | None = None
    traces: OtlpReceiver | None = None
    try:
        if given.traces_to is not None:  # Jaeger's stand-in, where the app's network meets us
            here = app.gateway()
            traces = OtlpReceiver(given.traces_to, host=here)
            app.start((here, traces.port))
        else:
            app.start()
        peer = Peer(app.address(), given.name, given.ca)
        run = Run(
            app,
            peer,
            given,
            int(given.env["VOS_HTTPS_PORT"]),
            int(given.env["VOS_METRICS_PORT"]),
            traces,
        )
        for clause in CLAUSES:
            if results and results[0].outcome == "FAILED":  # it does not run
                results.append(Result(clause.name, clause.section, "not checked", "not running"))
                continue
            try:
                clause.check(run)
            except ClauseNotChecked as why:
                results.append(Result(clause.name, clause.section, "not checked", str(why)))
            except ClauseFailed as failed:
                results.append(Result(clause.name, clause.section, "FAILED", str(failed)))
            except (OSError, HTTPException, docker.errors.APIError) as error:
                results.append(Result(clause.name, clause.section, "FAILED", repr(error)))
            else:
                results.append(Result(clause.name, clause.section, "passed"))
    finally:
        try:
            app.remove()
        finally:
            if peer is not None:
                peer.close()
            if traces is not None:
                traces.stop()
    results += [
        Result(name, section, "not checked", f"{why}; {PROVEN}")
        for name, section, why in NOT_CHECKED
    ]
    return results
