"""A one-shot job on Swarm as a Pulumi dynamic resource: a `replicated-job` service (Engine
API 1.41+, `docker service create --mode replicated-job`), which the Docker provider cannot
make (its `mode` is replicated or global: resource_docker_service.go).

- create: the job service, then wait until its one task completes; a task that fails fails
  the `up` with its last output, and the service is removed so nothing half-done stays;
- the service stays after it completed: Swarm does not run a completed job's task again
  (not on a second `up`, not after an engine restart); its name carries a hash of its spec
  (job.py), so any change is a replacement, i.e. a new run;
- read (refresh): a job service gone from the Swarm reads as deleted (the next `up` runs it
  again: every job of the registry is idempotent);
- delete: removes the service (gone already is fine).

The engine is the Docker provider's: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
(the provider's `host` and `certPath` default to the same variables:
kreuzwerker/terraform-provider-docker internal/provider/provider.go), read at call time.
The provider class holds no state, so dill pickles it by reference (as the Vault ones)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import docker
import docker.errors
import docker.types
import docker.utils
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
)

DONE = {"complete"}
FAILED = {"failed", "rejected", "shutdown", "orphaned", "remove"}
POLL_S = 1.0
API_VERSION = "1.41"
"""The first Engine API with job services (newer engines serve older versions)."""


class JobFailed(Exception):
    pass


def _client() -> Any:
    """The Engine API client (Any: types-docker leaves the Swarm service calls untyped)."""
    client = docker.APIClient(version=API_VERSION, timeout=60, **docker.utils.kwargs_from_env())
    # requests would verify the Engine with REQUESTS_CA_BUNDLE before DOCKER_CERT_PATH's CA
    # (merge_environment_settings puts the environment's bundle first): the Engine's CA is
    # the one the Docker provider uses. Set before the first request, which is why the
    # version is given (docker-py asks the Engine for it in the constructor otherwise).
    client.trust_env = False
    return client


def _tasks(client: Any, service: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.tasks(filters={"service": service})
    return found


def _output(client: Any, service: str) -> str:
    try:
        lines = client.service_logs(service, stdout=True, stderr=True, tail="20")
        return b"".join(lines).decode(errors="replace").strip()
    except docker.errors.APIError as error:
        return f"(its output could not be read: {error.explanation})"


def whole_numbers(value: Any) -> Any:
    """Inputs reach a dynamic provider through protobuf's Struct, whose numbers are all
    doubles (a file mode 292 arrives as 292.0); the Engine decodes its JSON into Go integers
    and refuses 292.0, so whole numbers go back to ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def run_job(client: Any, props: dict[str, Any]) -> str:
    """Create the job service and wait for its task; its id (JobFailed otherwise, and then
    no service is left)."""
    created = client.create_service(
        whole_numbers(props["task_template"]),
        name=props["name"],
        labels=props.get("labels") or {},
        mode=docker.types.ServiceMode("replicated-job", replicas=1, concurrency=1),
    )
    service = str(created["ID"])
    deadline = time.monotonic() + float(props["timeout_s"])
    why = f"did not complete within {props['timeout_s']} s"
    try:
        while time.monotonic() < deadline:
            states = [t["Status"] for t in _tasks(client, service)]
            if any(s["State"] in DONE for s in states):
                return service
            ended = [s for s in states if s["State"] in FAILED]
            if ended:
                status = ended[0]
                code = (status.get("ContainerStatus") or {}).get("ExitCode")
                why = f"{status['State']} (exit code {code}): {status.get('Err', '')}"
                break
            time.sleep(POLL_S)
        output = _output(client, service)
    except BaseException:
        client.remove_service(service)
        raise
    client.remove_service(service)
    raise JobFailed(f"the job {props['name']} {why}; its last output:\n{output}")


class SwarmJobProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        # At preview a value still unknown (the configs' ids) arrives as the engine's
        # sentinel string: only what is known is checked.
        template = news.get("task_template")
        spec = template.get("ContainerSpec") if isinstance(template, dict) else None
        if isinstance(template, dict) and not (isinstance(spec, dict) and spec.get("Image")):
            failures.append(CheckFailure("task_template", "a job needs an image"))
        if not news.get("name"):
            failures.append(CheckFailure("name", "a job needs a name"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("name", "task_template", "labels")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(run_job(_client(), props), dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            _client().inspect_service(id_)
        except docker.errors.NotFound:
            return ReadResult(None, {})
        return ReadResult(id_, props)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            _client().remove_service(id_)
