"""The reference apps' image (apps/Dockerfile) on the tier's engine, built exactly as a user
builds it, with two things no registry-less machine has: its `debian:bookworm-slim` base is
the tier's debootstrap image under that name, and its libraries come as wheels put beside
requirements.txt (the Dockerfile's offline path), downloaded here once per requirements
file. The build context (apps/ and the wheels) is a folder beside the tier's data root,
named by its content: the stack builds it on the engine as the dev profile builds apps/,
and the image built from it here is what an agent that names an image runs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.docker.engine import DATA, Engine
from tests.docker.images import BASE

APPS = Path(__file__).resolve().parents[2] / "apps"
PUBLIC_BASE = ("debian", "bookworm-slim")
"""The Dockerfile's default BASE."""


def _source_files() -> dict[str, Path]:
    """What the build context holds from apps/, without bytecode caches (.dockerignore)."""
    return {
        str(p.relative_to(APPS)): p
        for p in APPS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def wheelhouse() -> Path:
    """Every wheel requirements.txt needs, for the image's Python (Debian 12: CPython 3.11)."""
    requirements = APPS / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    folder = DATA.parent / "wheels" / digest
    if not (folder / ".complete").exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        done = subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                "--platform", "manylinux_2_28_x86_64", "--platform", "linux_x86_64",
                "--dest", str(partial), "-r", str(requirements),
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pip download failed: {done.stderr[-2000:]}")
        (partial / ".complete").touch()
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder


def reference_context(engine: Engine) -> Path:
    """apps/ with the wheels in wheels/, in a folder named by what it holds (kept between
    runs); the engine's `debian:bookworm-slim` is the tier's base from here on."""
    engine.api().tag(BASE, *PUBLIC_BASE)
    wheels = wheelhouse()
    files = _source_files() | {
        f"wheels/{p.name}": p for p in wheels.iterdir() if p.suffix == ".whl"
    }
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    folder = DATA.parent / "reference-context" / digest.hexdigest()[:12]
    complete = folder.with_name(folder.name + ".complete")  # beside it: not in the context
    if not complete.exists():
        shutil.rmtree(folder, ignore_errors=True)
        for name, path in files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        complete.touch()
    return folder


def build_reference_image(engine: Engine, context: Path) -> str:
    """Build (or reuse) the image of `context`; its tag names the context and the base."""
    api = engine.api()
    base_id = str(api.inspect_image(BASE)["Id"])
    digest = hashlib.sha256((base_id + context.name).encode()).hexdigest()[:12]
    tag = f"vos-test/reference-app:{digest}"
    if not api.images(name=tag):
        engine.client().images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False)
    return tag
