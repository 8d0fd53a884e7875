"""Opt-in end to end: `pulumi up` of a throwaway dev-profile stack on a real Docker engine,
with an embedded OpenBao as its Vault, then a rotation, then `pulumi destroy`.

Run with `VOS_E2E=1 .venv/bin/pytest tests/e2e` on a machine with the Pulumi CLI and a
Docker daemon (and registry access to pull the images). It never runs in this project's CI,
which has neither tool; nothing here has been run by the project so far.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from cryptography import x509

from tests.docker.checks import file_problems, hardening_problems
from tests.integration.vault_server import start_server
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig

ROOT = Path(__file__).resolve().parents[2]


def _require_tools() -> None:
    missing = [tool for tool in ("pulumi", "docker") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"VOS_E2E=1 but missing on PATH: {', '.join(missing)}")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail("VOS_E2E=1 but no Docker daemon answers (`docker info` fails)")


class Stack:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name, self.env = name, env

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args, "--stack", self.name],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )

    def docker(self, *args: str) -> str:
        return subprocess.run(
            ["docker", *args], capture_output=True, text=True, check=True
        ).stdout.strip()


E2E_CONFIG = {
    "vos-infra:environment": "dev",
    # The VOS images (gateway, agents) are not in a public registry, so this suite runs the
    # data services only; the apps, their sidecars and the edge run in the Docker tier
    # (tests/docker) on stand-in images. Objects are set as JSON, as Pulumi stores them.
    "vos-infra:services": '{"apiGateway": {"enabled": false}, "edge": {"enabled": false}}',
    "vos-infra:agents": "[]",
    "vos-infra:network": '{"publishedPorts": {"edge": null}}',
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_tools()
    vault = start_server(tmp_path_factory.mktemp("vault"))
    state = tmp_path_factory.mktemp("pulumi-state")
    name = f"e2e{secrets.token_hex(3)}"
    env = (
        os.environ
        | vault.env()
        | {
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    )
    env.pop("VAULT_TOKEN", None)
    subprocess.run(["pulumi", "stack", "init", name], cwd=ROOT, env=env, check=True)
    result = Stack(name, env)
    for key, value in E2E_CONFIG.items():
        result.pulumi("config", "set", key, value)
    try:
        result.pulumi("up", "--yes", "--skip-preview")
        yield result
    finally:
        subprocess.run(
            ["pulumi", "destroy", "--yes", "--stack", name], cwd=ROOT, env=env, check=False
        )
        subprocess.run(
            ["pulumi", "stack", "rm", "--yes", "--stack", name], cwd=ROOT, env=env, check=False
        )
        vault.stop()


def test_up_exports_a_real_ca(stack: Stack) -> None:
    out = stack.pulumi("stack", "output", "--json", "--show-secrets")
    ca = x509.load_pem_x509_certificate(json.loads(out.stdout)["caCertPem"].encode())
    ca.verify_directly_issued_by(ca)


def test_services_are_hardened_with_their_files_and_the_role_job_succeeded(
    stack: Stack,
) -> None:
    """The Docker tier's checks (tests/docker/checks.py) on what `pulumi up` created; the
    contents differ from an offline evaluation (other secrets), paths, owners, modes do not."""
    prefix = f"vos-{stack.name}"
    client = docker.from_env()
    config = StackConfig(dict(E2E_CONFIG), [])
    rendered = containers(evaluate(stack.name, config))
    for service in ("postgres", "rabbitmq", "weaviate"):
        name = f"{prefix}-{service}"
        assert hardening_problems(client, name) == []
        assert file_problems(client, name, rendered[service].files, contents=False) == []
    assert (
        stack.docker("inspect", "--format", "{{.State.ExitCode}}", f"{prefix}-postgres-roles")
        == "0"
    )


def test_postgres_rotation_reruns_the_job_without_restarting_the_server(stack: Stack) -> None:
    prefix = f"vos-{stack.name}"
    started = stack.docker("inspect", "--format", "{{.State.StartedAt}}", f"{prefix}-postgres")
    stack.pulumi("config", "set", "--path", "vos-infra:rotation.postgres", "1")
    stack.pulumi("up", "--yes", "--skip-preview")
    assert (
        stack.docker("inspect", "--format", "{{.State.ExitCode}}", f"{prefix}-postgres-roles")
        == "0"
    )
    assert (
        stack.docker("inspect", "--format", "{{.State.StartedAt}}", f"{prefix}-postgres") == started
    )
