"""Opt-in end to end: `pulumi up` of a throwaway dev stack on a real Docker engine, then
`pulumi destroy`. Run with `VOS_E2E=1 .venv/bin/pytest tests/e2e` on a machine with the
Pulumi CLI and Docker. It never runs in this project's CI (neither tool exists there)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]


def _require_tools() -> None:
    missing = [tool for tool in ("pulumi", "docker") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"VOS_E2E=1 but missing on PATH: {', '.join(missing)}")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("VOS_E2E=1 but no Docker daemon answers (`docker info` fails)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    _require_tools()
    state = tmp_path_factory.mktemp("pulumi-state")
    name = f"e2e{secrets.token_hex(3)}"
    env = os.environ | {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args, "--stack", name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )

    subprocess.run(["pulumi", "stack", "init", name], cwd=ROOT, env=env, check=True)
    pulumi("config", "set", "vos-infra:environment", "dev")
    try:
        pulumi("up", "--yes", "--skip-preview")
        yield name, env
    finally:
        subprocess.run(["pulumi", "destroy", "--yes", "--stack", name], cwd=ROOT, env=env)
        subprocess.run(["pulumi", "stack", "rm", "--yes", "--stack", name], cwd=ROOT, env=env)


def test_up_exports_a_real_ca(stack: tuple[str, dict[str, str]]) -> None:
    name, env = stack
    out = subprocess.run(
        ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    ca = x509.load_pem_x509_certificate(json.loads(out.stdout)["caCertPem"].encode())
    ca.verify_directly_issued_by(ca)
