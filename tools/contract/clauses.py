"""The contract's clauses an image can be held to alone, each a check that raises
ClauseFailed with what it saw. Sections name docs/APP-CONTRACT.md's."""

from __future__ import annotations

import json
import secrets
import ssl
from pathlib import PurePosixPath

from components.app.contract import HEALTH_PATH, METRICS, READY_PATH, metric_series
from tools.contract.checking import (
    RELOAD_WITHIN_S,
    Clause,
    ClauseFailed,
    ClauseNotChecked,
    Run,
    key_accepted,
    readiness,
    require,
    until,
)
from tools.contract.dependency_clauses import messaging, ready_with_dependencies

TRACES_WITHIN_S = 20
"""The SDK's batch processor exports every 5 s by default; a retry after a failed export
backs off for a few seconds more."""


def _runs_hardened(run: Run) -> None:
    listening = run.app.wait_listening(run.https)
    if not listening:
        state = run.app.inspect()["State"]
        tail = "\n".join(run.app.logs().splitlines()[-5:])
        raise ClauseFailed(
            f"not serving on {run.https} (status {state['Status']}, exit code "
            f"{state['ExitCode']}); its last output:\n{tail}"
        )


def _python3(run: Run) -> None:
    code, out = run.app.exec("python3", "-c", "import ssl, urllib.request")
    require(code == 0, f"`python3` on PATH cannot run the healthcheck's imports: {out[-300:]}")


def _tls(run: Run) -> None:
    version = run.peer.handshake(run.https, run.peer.context())
    require(version in ("TLSv1.2", "TLSv1.3"), f"agreed {version}")
    try:
        old = run.peer.handshake(run.https, run.peer.context(maximum=ssl.TLSVersion.TLSv1_1))
    except (ssl.SSLError, OSError):
        return
    raise ClauseFailed(f"a TLS 1.1 client was served ({old})")


def _health(run: Run) -> None:
    answer = run.peer.call(run.https, "GET", HEALTH_PATH)
    require(answer.status == 200, f"GET {HEALTH_PATH} without credentials: {answer.status}")


def _waiting_for(run: Run) -> list[str]:
    waiting = readiness(run)
    require(waiting is not None, f"GET {READY_PATH} with a secret missing: 200")
    assert waiting is not None
    return waiting


def _ready(run: Run) -> None:
    missing = PurePosixPath(run.subject.withheld).name
    waiting = _waiting_for(run)
    require(missing in waiting, f"{READY_PATH} does not name the missing {missing}: {waiting}")


def _started(run: Run) -> tuple[str, int]:
    state = run.app.inspect()
    return str(state["State"]["StartedAt"]), int(state["RestartCount"])


def _reload(run: Run) -> None:
    before = _started(run)
    path = run.subject.withheld
    if run.subject.role == "gateway":
        first, second = (secrets.token_urlsafe(24) for _ in range(2))
        require(not key_accepted(run, first), "a key not rendered yet was accepted")
        run.app.render(path, first)
        require(
            until(lambda: key_accepted(run, first), RELOAD_WITHIN_S),
            f"the API key rendered into {path} was not taken within {RELOAD_WITHIN_S} s",
        )
        run.app.render(path, second)
        require(
            until(lambda: key_accepted(run, second), RELOAD_WITHIN_S)
            and not key_accepted(run, first),
            f"a rotated API key in {path} was not taken (or the old one still was)",
        )
    else:
        run.app.render(path, run.subject.secrets[path])
        name = PurePosixPath(path).name
        require(
            until(lambda: name not in (readiness(run) or []), RELOAD_WITHIN_S),
            f"{READY_PATH} still waits for {name} {RELOAD_WITHIN_S} s after it was rendered",
        )
    require(_started(run) == before, "the container was restarted to read a secret")


def _auth(run: Run) -> None:
    refused = []
    for method, path, headers in (
        ("GET", "/", {}),
        ("GET", "/api/v1/whoami", {}),
        ("POST", "/api/v1/agents/contract/tasks", {}),
        ("GET", "/contract/unknown", {}),
        ("GET", "/api/v1/whoami", {"X-API-Key": secrets.token_urlsafe(24)}),
        ("GET", "/api/v1/whoami", {"Authorization": "Bearer not.a.token"}),
    ):
        status = run.peer.call(run.https, method, path, headers).status
        if status != 401:
            refused.append(f"{method} {path} {sorted(headers)}: {status}")
    require(not refused, "answered without a valid caller: " + "; ".join(refused))


def _metrics(run: Run) -> None:
    env, files = run.subject.env, run.subject.files
    own = (files[env["VOS_TLS_CLIENT_CERT_FILE"]], files[env["VOS_TLS_CLIENT_KEY_FILE"]])
    for who, identity in (("no client certificate", None), ("the app's own certificate", own)):
        try:
            answer = run.peer.call(run.metrics, "GET", "/metrics", identity=identity)
        except (ssl.SSLError, OSError):
            continue
        require(answer.status != 200, f"/metrics served to {who}")
    answer = run.peer.call(run.metrics, "GET", "/metrics", identity=run.subject.scraper)
    require(answer.status == 200, f"/metrics refused the metrics CA's identity: {answer.status}")
    wanted = [m for m in METRICS if m.who in ("all", run.subject.role)]
    lines = answer.body.splitlines()
    missing = []
    for metric in wanted:
        typed = any(line.split()[:3] == ["#", "TYPE", metric.name] for line in lines)
        # Requests were served by now: the request histogram must count them, with the
        # contract's labels (the alerts group by them). A labelled family of the agent's may
        # have no series before its first task.
        sampled = metric.who != "all" or any(
            line.startswith(metric_series(metric)[-1] + "{")
            and all(f"{label}=" in line for label in metric.labels)
            for line in lines
        )
        if not (typed and sampled):
            missing.append(metric.name)
    require(not missing, f"/metrics lacks the contract's families {missing}")


def _logs(run: Run) -> None:
    request_id = f"contract-{secrets.token_hex(6)}"
    run.peer.call(run.https, "GET", "/contract/logged", {"X-Request-ID": request_id})
    until(lambda: request_id in run.app.logs(), 5)
    lines = [line for line in run.app.logs().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise ClauseFailed(f"a stdout line that is not JSON: {line[:200]}") from None
        require(isinstance(record, dict), f"a JSON line that is not an object: {line[:200]}")
        records.append(record)
    require(
        any(r.get("request_id") == request_id for r in records),
        f"no log line carries the request's X-Request-ID {request_id}",
    )


def _traces(run: Run) -> None:
    if run.traces is None:
        raise ClauseNotChecked("the dev stack has no Jaeger (services.jaeger) to send them to")
    service = run.subject.env["OTEL_SERVICE_NAME"]

    def sent() -> set[str]:
        """The client certificates that came with its spans (the receiver demands one)."""
        assert run.traces is not None
        return {s.client for s in run.traces.received() if s.service == service}

    require(
        until(lambda: bool(sent()), TRACES_WITHIN_S),
        f"no span from service {service!r} within {TRACES_WITHIN_S} s over OTLP/gRPC to "
        f"{run.subject.env['OTEL_EXPORTER_OTLP_ENDPOINT']} (server verified with "
        "OTEL_EXPORTER_OTLP_CERTIFICATE, its own client certificate presented; the stand-in "
        f"listens on port {run.traces.port} of this machine's address on the app's network, "
        "which a host firewall must let through)",
    )
    require(sent() == {run.subject.name}, f"spans sent with certificates of {sorted(sent())}")


CLAUSES = (
    Clause("runs hardened", "The image", _runs_hardened),
    Clause("python3 on PATH", "The image", _python3),
    Clause("HTTPS, TLS 1.2 or newer", "The image", _tls),
    Clause("/healthz without credentials", "The image", _health),
    Clause("/readyz waits for a missing secret", "Secrets", _ready),
    Clause("a secret re-read without a restart", "Secrets", _reload),
    Clause("every other route needs a caller", "Authentication", _auth),
    Clause("/metrics for the metrics CA only, the contract's families", "Metrics", _metrics),
    Clause("JSON log lines with the request id", "Requests in the logs", _logs),
    Clause(
        "/readyz ready once its data services answer, not while one is down",
        "The image",
        ready_with_dependencies,
    ),
    Clause(
        "messaging: user_id, routing prefix, replies to the replica that asked, trace "
        "context, rejecting without user_id, heartbeat and prefetch",
        "Messaging",
        messaging,
    ),
    # Last: the requests of every clause before have made spans by now.
    Clause("OTLP traces with its client certificate", "Environment", _traces),
)
