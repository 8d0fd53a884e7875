"""The scripts as a new user meets them: up.sh checks every prerequisite before it
installs anything and says what to do; installs only when pyproject.toml changed; env.sh
gives a shell what up.sh gives `pulumi`. Each runs in a copy of the project with stub
tools on PATH, so nothing here touches the real .venv or needs the Pulumi CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    for name in ("pyproject.toml", "Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "apps").mkdir()
    shutil.copy(ROOT / "apps" / "requirements.txt", copy / "apps" / "requirements.txt")
    return copy


def stub(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def run(project: Path, *args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": path, "HOME": str(project), **env}
    return subprocess.run(
        ["/bin/bash", *args], cwd=project, env=environment,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


BASE_PATH = "/usr/bin:/bin"


def test_help_is_help_not_a_stack_name(tmp_path: Path) -> None:
    copy = project(tmp_path)
    result = run(copy, "scripts/up.sh", "--help", path=BASE_PATH)
    assert result.returncode == 0 and "usage: scripts/up.sh [stack]" in result.stdout
    assert "Pulumi CLI (>= 3." in result.stdout
    wrong = run(copy, "scripts/up.sh", "--yes", path=BASE_PATH)
    assert wrong.returncode == 1 and "not '--yes'" in wrong.stderr


def test_every_missing_prerequisite_is_reported_at_once_before_anything_is_built(
    tmp_path: Path,
) -> None:
    copy = project(tmp_path)
    tools = tmp_path / "tools"
    stub(tools, "docker", "exit 1")  # a CLI without a daemon
    result = run(copy, "scripts/up.sh", "Prod_1", path=f"{tools}:{BASE_PATH}")
    assert result.returncode == 1
    for expected in ("'Prod_1' is not a valid stack name", "no Pulumi.Prod_1.yaml",
                     "no Docker daemon answers", "VAULT_ADDR is not set"):  # fmt: skip
        assert expected in result.stderr, result.stderr
    assert "scripts/host.sh" in result.stderr  # the one command that makes an engine here
    # The missing Pulumi CLI would be installed (test_pulumi_install.py), but not before
    # everything else is there: nothing is installed or created.
    assert "Pulumi CLI" not in result.stderr
    assert not (copy / ".venv").exists() and not (copy / ".state").exists()
    assert not (copy / ".local").exists()


def test_an_old_pulumi_cli_is_refused_before_the_virtualenv_is_built(tmp_path: Path) -> None:
    copy = project(tmp_path)
    tools = tmp_path / "tools"
    stub(tools, "pulumi", 'echo "v3.100.0"')
    stub(tools, "docker", "exit 0")
    result = run(copy, "scripts/up.sh", path=f"{tools}:{BASE_PATH}")
    assert result.returncode == 1
    assert "the Pulumi CLI is 3.100.0 but the project needs 3.272" in result.stderr
    assert not (copy / ".venv").exists()


def test_a_docker_host_without_swap_accounting_is_refused_before_anything_is_built(
    tmp_path: Path,
) -> None:
    copy = project(tmp_path)
    tools = tmp_path / "tools"
    stub(tools, "pulumi", 'echo "v9.0.0"')
    # `docker info` answers; asked for SwapLimit it says what a kernel without it says.
    stub(tools, "docker", 'case "$*" in *SwapLimit*) echo false;; esac; exit 0')
    result = run(copy, "scripts/up.sh", path=f"{tools}:{BASE_PATH}")
    assert result.returncode == 1
    assert "no swap limit support" in result.stderr and "swapaccount=1" in result.stderr
    assert not (copy / ".venv").exists() and not (copy / ".state").exists()
    check = "source scripts/lib.sh; docker_swap_limit_problem"
    assert "no swap limit support" in run(copy, "-c", check, path=f"{tools}:{BASE_PATH}").stdout
    stub(tools, "docker", 'case "$*" in *SwapLimit*) echo true;; esac; exit 0')
    assert run(copy, "-c", check, path=f"{tools}:{BASE_PATH}").stdout == ""


def fake_virtualenv(copy: Path, log: Path) -> None:
    """A .venv whose python records pip calls (and runs -c snippets for real) and whose
    vos-infra prints the dev Vault's exports."""
    real = shutil.which("python3")
    stub(copy / ".venv" / "bin", "python",
         f'if [ "$1" = "-c" ]; then exec {real} "$@"; fi\necho "$@" >> {log}')  # fmt: skip
    stub(copy / ".venv" / "bin", "vos-infra",
         'if [ "$1" = backend ]; then echo "export PULUMI_BACKEND_URL=s3://$4"; exit 0; fi\n'
         "echo \"export VAULT_ADDR=https://127.0.0.1:8200\"")  # fmt: skip


def test_the_virtualenv_is_reinstalled_only_when_pyproject_changes(tmp_path: Path) -> None:
    copy, log = project(tmp_path), tmp_path / "pip.log"
    fake_virtualenv(copy, log)
    script = "source scripts/lib.sh; bootstrap_venv local"
    for _ in range(2):
        assert run(copy, "-c", script, path=BASE_PATH).returncode == 0
    installs = [line for line in log.read_text().splitlines() if "install" in line and "-e" in line]
    assert len(installs) == 1, installs
    (copy / "pyproject.toml").write_text((copy / "pyproject.toml").read_text() + "\n# edit\n")
    assert run(copy, "-c", script, path=BASE_PATH).returncode == 0
    installs = [line for line in log.read_text().splitlines() if "install" in line and "-e" in line]
    assert len(installs) == 2


def test_env_sh_gives_a_shell_what_up_sh_gives_pulumi(tmp_path: Path) -> None:
    copy, log = project(tmp_path), tmp_path / "pip.log"
    fake_virtualenv(copy, log)
    tools = tmp_path / "tools"
    stub(tools, "pulumi", 'echo "backend=$PULUMI_BACKEND_URL pass=$PULUMI_CONFIG_PASSPHRASE_FILE '
                          'vault=$VAULT_ADDR args=$*"')  # fmt: skip
    shell = 'eval "$(scripts/env.sh)" && pulumi config set --path vos-infra:rotation.postgres 1'
    result = run(copy, "-c", shell, path=f"{tools}:{BASE_PATH}")
    assert result.returncode == 0, result.stderr
    assert f"backend=file://{copy}/.state/backend" in result.stdout
    assert f"pass={copy}/.state/passphrase vault=https://127.0.0.1:8200" in result.stdout
    assert oct((copy / ".state" / "passphrase").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("script", ["scripts/vos-infra", "scripts/env.sh", "scripts/up.sh"])
def test_the_scripts_are_executable(script: str) -> None:
    assert os.access(ROOT / script, os.X_OK)


def test_env_sh_points_a_stack_with_a_backend_at_its_bucket(tmp_path: Path) -> None:
    copy, log = project(tmp_path), tmp_path / "pip.log"
    shutil.copy(ROOT / "Pulumi.prod.yaml", copy / "Pulumi.prod.yaml")
    fake_virtualenv(copy, log)
    tools = tmp_path / "tools"
    stub(tools, "pulumi", 'echo "backend=$PULUMI_BACKEND_URL"')
    result = run(copy, "-c", 'eval "$(scripts/env.sh prod)" && pulumi whoami',
                 path=f"{tools}:{BASE_PATH}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "backend=s3://prod" in result.stdout  # from `vos-infra backend env --stack prod`
    assert not (copy / ".state" / "passphrase").exists()
