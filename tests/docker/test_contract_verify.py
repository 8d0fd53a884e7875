"""`vos-infra contract verify` on the tier's engine: the reference image passes every clause,
as the gateway and as an agent, beside the dev stack's own PostgreSQL, RabbitMQ and
Weaviate; for each clause, a variant of the image broken in exactly that way fails exactly
that clause (the variants of the clauses an app is held to alone run with
`--no-dependencies`, which says the others are not checked).

A variant is the reference image with a `sitecustomize.py` beside the app (Python imports it
at start-up, before the app): it replaces one behaviour of the reference app and nothing
else, so what the command reports is the clause's own check, not a side effect."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.docker.reference_image import build_reference_image
from tests.docker.stack import Stack
from tools.contract.clauses import CLAUSES
from tools.contract.dependency_clauses import messaging, ready_with_dependencies

PROJECT = Path(__file__).resolve().parents[2]
BROKEN = {
    "runs hardened": """
import os
try:
    open("/opt/vos/app/state.db", "w")  # an app that writes beside its code
except OSError:
    os._exit(70)
""",
    "python3 on PATH": """
import os
import sys
if sys.orig_argv[1:2] == ["-c"]:  # the healthcheck's interpreter cannot run; the app can
    os._exit(127)
""",
    "HTTPS, TLS 1.2 or newer": """
import ssl
import uvicorn.config
make = uvicorn.config.create_ssl_context
def old_tls(*args, **kwargs):
    context = make(*args, **kwargs)
    context.minimum_version = ssl.TLSVersion.TLSv1  # and the suites TLS 1.0/1.1 need
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context
uvicorn.config.create_ssl_context = old_tls
""",
    "/healthz without credentials": """
from starlette.responses import JSONResponse
from starlette.routing import Route
from vos_reference import readiness
probe_routes = readiness.probe_routes
async def sick(request):
    return JSONResponse({"status": "sick"}, 500)
def broken(checks):
    return [Route("/healthz", sick), *probe_routes(checks)[1:]]
readiness.probe_routes = broken
from vos_reference import gateway
gateway.probe_routes = broken
""",
    "/readyz waits for a missing secret": """
from vos_reference import secret_file
secret_file.SecretFile.ready = lambda self: True  # ready without reading anything
""",
    "a secret re-read without a restart": """
from vos_reference import secret_file
value = secret_file.SecretFile.value
def once(self):
    if not hasattr(self, "_first"):
        self._first = value(self)
    return self._first  # read once, never again
secret_file.SecretFile.value = once
""",
    "every other route needs a caller": """
from vos_reference import auth
caller = auth.Authenticator.caller
def lax(self, api_key, authorization):
    if not api_key and not authorization:
        return auth.Caller("client", "anonymous")  # no credentials let through
    return caller(self, api_key, authorization)
auth.Authenticator.caller = lax
""",
    "/metrics for the metrics CA only, the contract's families": """
import prometheus_client
serve = prometheus_client.start_http_server
def open_metrics(*args, **kwargs):
    kwargs["client_auth_required"] = False
    return serve(*args, **kwargs)
prometheus_client.start_http_server = open_metrics
""",
    "JSON log lines with the request id": """
import logging
from vos_reference import observability
observability.JsonLines.format = logging.Formatter.format  # plain text
""",
    "/readyz ready once its data services answer, not while one is down": """
from vos_reference import readiness
readiness.Readiness._database = lambda self, database: True  # never asks PostgreSQL
""",
    "messaging: user_id, routing prefix, replies to the replica that asked, trace "
    "context, rejecting without user_id, heartbeat and prefetch": """
import aio_pika
message = aio_pika.Message.__init__
def unattributed(self, *args, **kwargs):
    kwargs.pop("user_id", None)  # publishes without saying who it is
    message(self, *args, **kwargs)
aio_pika.Message.__init__ = unattributed
""",
    "OTLP traces with its client certificate": """
import os
os.environ.pop("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")  # exports without its certificate
os.environ.pop("OTEL_EXPORTER_OTLP_CLIENT_KEY")
""",
}
"""Clause -> the sitecustomize.py that breaks exactly it (in the gateway)."""
NEED_DEPENDENCIES = {c.name for c in CLAUSES if c.check in (ready_with_dependencies, messaging)}


def test_every_clause_has_its_broken_variant() -> None:
    assert list(BROKEN) == [c.name for c in CLAUSES]


@pytest.fixture(scope="module")
def reference(stack: Stack) -> str:
    return build_reference_image(stack.engine, stack.reference_context)


def _variant(stack: Stack, base: str, clause: str) -> str:
    digest = hashlib.sha256(f"{base}\0{BROKEN[clause]}".encode()).hexdigest()[:12]
    tag = f"vos-test/contract-broken:{digest}"
    dockerfile = f"FROM {base}\nCOPY sitecustomize.py /opt/vos/app/sitecustomize.py\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in (("Dockerfile", dockerfile), ("sitecustomize.py", BROKEN[clause])):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(text.encode()))
    buffer.seek(0)
    stack.engine.client().images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True)
    return tag


def _command(
    stack: Stack, image: str, role: str, dependencies: bool = True
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, against the tier's engine."""
    return subprocess.run(
        [sys.executable, "-m", "tools.cli.main", "contract", "verify", "--image", image,
         "--role", role, *([] if dependencies else ["--no-dependencies"])],
        cwd=PROJECT, capture_output=True, text=True, timeout=600,
        env={"DOCKER_HOST": stack.engine.url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )  # fmt: skip


def _verify(
    stack: Stack, image: str, role: str, dependencies: bool = True
) -> tuple[int, dict[str, str], str]:
    """Its exit code, clause -> outcome (`passed`, `FAILED`, `not`), what it printed."""
    done = _command(stack, image, role, dependencies)
    outcomes = {}
    for line in done.stdout.splitlines():
        for clause in [c.name for c in CLAUSES]:
            if f" {clause} (" in line:
                outcomes[clause] = line.split(" ", 1)[0] if not line.startswith("not") else "not"
    assert len(outcomes) == len(CLAUSES), (done.stdout, done.stderr)
    return done.returncode, outcomes, done.stdout


Verified = tuple[int, dict[str, str], str]


@pytest.fixture(scope="module")
def passing(stack: Stack, reference: str) -> dict[str, Verified]:
    """The reference image verified as both roles at once, beside the data services."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {role: pool.submit(_verify, stack, reference, role) for role in ("gateway", "agent")}
        return {role: run.result() for role, run in runs.items()}


@pytest.mark.parametrize("role", ["gateway", "agent"])
def test_the_reference_image_passes_every_clause(passing: dict[str, Verified], role: str) -> None:
    code, outcomes, printed = passing[role]
    assert outcomes == {c.name: "passed" for c in CLAUSES}, printed
    assert code == 0


def _made_by_the_command(stack: Stack) -> set[str]:
    """The containers, networks and volumes the command names `vos-contract-*` (the
    tier's other process may make its own meanwhile)."""
    client = stack.engine.client()
    found = [*client.containers.list(all=True), *client.networks.list(), *client.volumes.list()]
    return {str(o.name) for o in found if str(o.name).startswith("vos-contract-")}


def test_an_image_the_engine_lacks_is_named_before_anything_runs(stack: Stack) -> None:
    assert _made_by_the_command(stack) == set()  # the runs before removed theirs
    done = _command(stack, "vos-test/never-built:1", "agent")
    assert done.returncode == 2, done
    assert "no image 'vos-test/never-built:1' on the engine" in done.stderr
    assert _made_by_the_command(stack) == set()


@pytest.fixture(scope="module")
def broken(stack: Stack, reference: str) -> dict[str, Verified]:
    """Every broken variant built, then verified three at a time (each run mostly waits on
    its container), as the command runs in an image's CI: clause -> what it reported. The
    longest runs, beside the data services, go first."""
    variants = {clause: _variant(stack, reference, clause) for clause in BROKEN}
    order = sorted(variants, key=lambda clause: clause not in NEED_DEPENDENCIES)
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = {
            clause: pool.submit(
                _verify, stack, variants[clause], "gateway", clause in NEED_DEPENDENCIES
            )
            for clause in order
        }
        return {clause: run.result() for clause, run in runs.items()}


@pytest.mark.parametrize("clause", list(BROKEN))
def test_an_image_broken_in_one_way_fails_exactly_that_clause(
    broken: dict[str, Verified], clause: str
) -> None:
    code, outcomes, printed = broken[clause]
    failed = {name for name, outcome in outcomes.items() if outcome == "FAILED"}
    assert failed == {clause}, printed
    assert code == 1
    others = {name: outcome for name, outcome in outcomes.items() if name != clause}
    if clause == "runs hardened":  # nothing else can be checked on an app that is not running
        assert set(others.values()) == {"not"}, printed
    elif clause in NEED_DEPENDENCIES:
        assert set(others.values()) == {"passed"}, printed
    else:  # run without the data services: what needs them is said, not passed
        assert others == {
            name: "not" if name in NEED_DEPENDENCIES else "passed" for name in others
        }, printed
