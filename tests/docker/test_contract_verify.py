"""`vos-infra contract verify` on the tier's engine: the reference image passes every clause
it checks, as the gateway and as an agent; for each clause, a variant of the image broken in
exactly that way fails exactly that clause.

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
from tools.contract.clauses import CLAUSES, NOT_CHECKED

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
    "OTLP traces with its client certificate": """
import os
os.environ.pop("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")  # exports without its certificate
os.environ.pop("OTEL_EXPORTER_OTLP_CLIENT_KEY")
""",
}
"""Clause -> the sitecustomize.py that breaks exactly it (in the gateway)."""


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


def _command(stack: Stack, image: str, role: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, against the tier's engine."""
    return subprocess.run(
        [sys.executable, "-m", "tools.cli.main", "contract", "verify", "--image", image,
         "--role", role],
        cwd=PROJECT, capture_output=True, text=True, timeout=600,
        env={"DOCKER_HOST": stack.engine.url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )  # fmt: skip


def _verify(stack: Stack, image: str, role: str) -> tuple[int, dict[str, str], str]:
    """Its exit code, clause -> outcome (`passed`, `FAILED`, `not`), what it printed."""
    done = _command(stack, image, role)
    outcomes = {}
    for line in done.stdout.splitlines():
        for clause in [c.name for c in CLAUSES] + [n for n, _, _ in NOT_CHECKED]:
            if f" {clause} (" in line:
                outcomes[clause] = line.split(" ", 1)[0] if not line.startswith("not") else "not"
    assert len(outcomes) == len(CLAUSES) + len(NOT_CHECKED), (done.stdout, done.stderr)
    return done.returncode, outcomes, done.stdout


@pytest.mark.parametrize("role", ["gateway", "agent"])
def test_the_reference_image_passes_every_clause(stack: Stack, reference: str, role: str) -> None:
    code, outcomes, printed = _verify(stack, reference, role)
    passed = {c.name: outcomes[c.name] for c in CLAUSES}
    assert passed == {c.name: "passed" for c in CLAUSES}, printed
    assert {outcomes[n] for n, _, _ in NOT_CHECKED} == {"not"}  # said, not passed
    assert code == 0


def test_an_image_the_engine_lacks_is_named_before_anything_runs(stack: Stack) -> None:
    before = len(stack.engine.client().containers.list(all=True))
    done = _command(stack, "vos-test/never-built:1", "agent")
    assert done.returncode == 2, done
    assert "no image 'vos-test/never-built:1' on the engine" in done.stderr
    assert len(stack.engine.client().containers.list(all=True)) == before


Verified = tuple[int, dict[str, str], str]


@pytest.fixture(scope="module")
def broken(stack: Stack, reference: str) -> dict[str, Verified]:
    """Every broken variant built, then verified three at a time (each run mostly waits on
    its container), as the command runs in an image's CI: clause -> what it reported."""
    variants = {clause: _variant(stack, reference, clause) for clause in BROKEN}
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = {c: pool.submit(_verify, stack, image, "gateway") for c, image in variants.items()}
        return {clause: run.result() for clause, run in runs.items()}


@pytest.mark.parametrize("clause", list(BROKEN))
def test_an_image_broken_in_one_way_fails_exactly_that_clause(
    broken: dict[str, Verified], clause: str
) -> None:
    code, outcomes, printed = broken[clause]
    failed = {name for name, outcome in outcomes.items() if outcome == "FAILED"}
    assert failed == {clause}, printed
    assert code == 1
    if clause == "runs hardened":  # nothing else can be checked on an app that is not running
        assert {o for n, o in outcomes.items() if n != clause} == {"not"}, printed
    else:
        assert all(outcomes[c.name] == "passed" for c in CLAUSES if c.name != clause), printed
