"""Run the image, check each clause in order, print one line per clause. A clause that
fails when the app does not even run leaves the others unchecked (said so, not passed).
The dev stack's data services run beside it unless told not to (a quicker run, whose
dependency clauses are then said not checked)."""

from __future__ import annotations

from dataclasses import dataclass
from http.client import HTTPException

import docker
import docker.errors

from tools.contract.checking import ClauseFailed, ClauseNotChecked, Run
from tools.contract.clauses import CLAUSES
from tools.contract.container import AppContainer
from tools.contract.dependencies import Dependencies
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


def verify(image: str, role: Role, dependencies: bool = True) -> list[Result]:
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
    services: Dependencies | None = None
    try:
        running: frozenset[str] = frozenset()
        if dependencies:  # first: the app finds their names on its network when it starts
            services = Dependencies(
                client, app.network.name, given.dependencies, given.jobs, (given.image, image)
            )
            services.start()
            running = frozenset(d.service for d in given.dependencies)
        if given.traces_to is not None:  # Jaeger's stand-in, where the app's network meets us
            here = app.gateway()
            traces = OtlpReceiver(given.traces_to, host=here)
            app.start((here, traces.port), running)
        else:
            app.start(running=running)
        peer = Peer(app.address(), given.name, given.ca)
        run = Run(
            app,
            peer,
            given,
            int(given.env["VOS_HTTPS_PORT"]),
            int(given.env["VOS_METRICS_PORT"]),
            traces,
            services,
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
            if services is not None:
                services.remove()
        finally:
            try:
                app.remove()
            finally:
                if peer is not None:
                    peer.close()
                if traces is not None:
                    traces.stop()
    return results
