"""The reference apps' image (apps/Dockerfile) built on the tier's engine exactly as a user
builds it, with two things no registry-less machine has: its `debian:bookworm-slim` base is
the tier's debootstrap image under that name, and its libraries come as wheels put beside
requirements.txt (the Dockerfile's offline path), downloaded here once per requirements
file and kept beside the tier's data root."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
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


def build_reference_image(engine: Engine) -> str:
    """Build (or reuse) the image; its tag names the hash of the context and the base."""
    api = engine.api()
    base_id = str(api.inspect_image(BASE)["Id"])
    api.tag(BASE, *PUBLIC_BASE)
    wheels = wheelhouse()
    files = _source_files() | {
        f"wheels/{p.name}": p for p in wheels.iterdir() if p.suffix == ".whl"
    }
    digest = hashlib.sha256(base_id.encode())
    for name, path in sorted(files.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    tag = f"vos-test/reference-app:{digest.hexdigest()[:12]}"
    if api.images(name=tag):
        return tag
    with tempfile.TemporaryDirectory(dir=DATA.parent) as context:
        for name, path in files.items():
            target = Path(context) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        engine.client().images.build(path=context, tag=tag, rm=True, forcerm=True, pull=False)
    return tag
