"""Start a Python dynamic-provider plugin exactly as the Pulumi engine does for a project.

What the engine does (pulumi/pulumi, read at 1b59498):
- pkg/engine/project.go `getPwdMain`: the program's directory is the project root, or the
  `main` folder of Pulumi.yaml (or the folder of a `main` file); plugins start there
  (sdk/go/common/resource/plugin/plugin.go sets `cmd.Dir` to that pwd);
- sdk/go/common/resource/plugin/provider_plugin.go: each runtime option of Pulumi.yaml
  reaches the plugin as `PULUMI_RUNTIME_<OPTION>` (PULUMI_RUNTIME_VIRTUALENV=.venv,
  PULUMI_RUNTIME_TOOLCHAIN=pip), beside PULUMI_PROJECT and PULUMI_CONFIG and the engine's own
  environment; the plugin's one argument is the engine's address;
- sdk/python/dist/pulumi-resource-pulumi-python (the launcher shipped with the CLI): makes a
  relative virtualenv absolute against $PWD, fails with "doesn't exist" when it has no
  bin/python, else puts its bin first on PATH, unsets PYTHONHOME and runs
  `<venv>/bin/python -u -m pulumi.dynamic <engine address>`; `-m` puts the working
  directory first on sys.path;
- the plugin prints its gRPC port on stdout (pulumi/dynamic/__main__.py).

The launcher script itself ships only with the CLI, which this machine cannot install, so
`launch()` performs the same steps; nothing else stands between the engine and the plugin.
"""

from __future__ import annotations

import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from pulumi.runtime.proto import provider_pb2_grpc

ENGINE_ADDRESS = "127.0.0.1:1"
"""The dynamic provider takes the engine's address but never dials it (its monitor is
only used by resources that register children, which ours do not)."""


class LaunchFailed(RuntimeError):
    """The plugin did not come up; the message is what the engine would show."""


def program_directory(project_root: Path) -> Path:
    """getPwdMain: the directory the engine runs the program and its plugins in."""
    main = yaml.safe_load((project_root / "Pulumi.yaml").read_text()).get("main")
    if not main:
        return project_root
    path = (project_root / main).resolve()
    return path if path.is_dir() else path.parent


def plugin_environment(project_root: Path, base: dict[str, str]) -> dict[str, str]:
    project = yaml.safe_load((project_root / "Pulumi.yaml").read_text())
    options: dict[str, Any] = (project.get("runtime") or {}).get("options") or {}
    env = dict(base)
    env.update({f"PULUMI_RUNTIME_{k.upper()}": str(v) for k, v in options.items()})
    env.update({"PULUMI_PROJECT": str(project["name"]), "PULUMI_CONFIG": "{}"})
    return env


@dataclass
class Plugin:
    process: subprocess.Popen[bytes]
    port: int
    channel: grpc.Channel

    @property
    def provider(self) -> provider_pb2_grpc.ResourceProviderStub:
        return provider_pb2_grpc.ResourceProviderStub(self.channel)

    def stop(self) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait(timeout=10)


def launch(project_root: Path, base_env: dict[str, str], timeout: float = 60) -> Plugin:
    cwd = program_directory(project_root)
    env = plugin_environment(project_root, base_env)
    venv = env.get("PULUMI_RUNTIME_VIRTUALENV", "").rstrip("/")
    if not venv:
        raise LaunchFailed("the project names no virtualenv (runtime.options.virtualenv)")
    venv_path = Path(venv) if venv.startswith("/") else cwd / venv
    python = venv_path / "bin" / "python"
    if not python.is_file():
        raise LaunchFailed(
            f"The 'virtualenv' option in Pulumi.yaml is set to \"{venv_path}\", but "
            f'"{venv_path}" doesn\'t exist.'
        )
    env["PATH"] = f"{venv_path / 'bin'}:{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    process = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.dynamic", ENGINE_ADDRESS],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        process.kill()
        stderr = process.stderr.read().decode(errors="replace")
        raise LaunchFailed(f"the dynamic provider did not start:\n{stderr[-3000:]}")
    port = int(line)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=timeout)
    return Plugin(process, port, channel)


def stdlib_shadows(directory: Path) -> list[str]:
    """Modules or packages directly in `directory` named like a standard-library module."""
    names = {p.stem for p in directory.glob("*.py")} | {
        p.name for p in directory.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    return sorted(names & set(sys.stdlib_module_names))
