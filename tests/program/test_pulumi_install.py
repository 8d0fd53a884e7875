"""A machine without the Pulumi CLI gets the pinned release from up.sh: the archive of exactly
PULUMI_CLI_VERSION and the checksums file the same release publishes, served here by a local
HTTP server laid out like Pulumi's GitHub releases, with a stand-in archive. A mismatch, a
missing entry or an archive without the binary installs nothing."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.program.test_scripts import BASE_PATH, project, run, stub

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(
    r"^PULUMI_CLI_VERSION=(\S+)$", (ROOT / "scripts" / "pulumi-cli.sh").read_text(), re.M
)[1]  # type: ignore[index]
ARCH = {"x86_64": "x64", "aarch64": "arm64"}[
    subprocess.check_output(["uname", "-m"], text=True).strip()
]
ARCHIVE = f"pulumi-v{VERSION}-linux-{ARCH}.tar.gz"
SUMS = f"pulumi-{VERSION}-checksums.txt"


def _archive(binary: str | None = f'echo "v{VERSION}"') -> bytes:
    """Like the release: everything under pulumi/ (.goreleaser.yml wrap_in_directory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        files = {"pulumi/pulumi-language-python": "#!/bin/sh\n"}
        if binary is not None:
            files["pulumi/pulumi"] = f"#!/bin/sh\n{binary}\n"
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@dataclass
class Releases:
    folder: Path
    url: str
    requests: list[str] = field(default_factory=list)

    def publish(self, archive: bytes, sums: str | None = None) -> None:
        release = self.folder / f"v{VERSION}"
        release.mkdir(parents=True, exist_ok=True)
        (release / ARCHIVE).write_bytes(archive)
        digest = hashlib.sha256(archive).hexdigest()
        other = f"{'0' * 64}  pulumi-v{VERSION}-darwin-x64.tar.gz\n"
        (release / SUMS).write_text(sums if sums is not None else f"{other}{digest}  {ARCHIVE}\n")


@pytest.fixture
def releases(tmp_path: Path) -> Iterator[Releases]:
    folder = tmp_path / "releases"
    folder.mkdir()
    seen: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Releases(folder, f"http://127.0.0.1:{server.server_port}", seen)
    finally:
        server.shutdown()
        server.server_close()


def _install(copy: Path, releases: Releases) -> subprocess.CompletedProcess[str]:
    return run(
        copy, "-c", "source scripts/lib.sh && install_pulumi_cli && use_installed_pulumi_cli "
        "&& pulumi version", path=BASE_PATH, VOS_PULUMI_RELEASES=releases.url,
    )  # fmt: skip


def _installed(copy: Path) -> Path:
    return copy / ".local" / "share" / "vos-infra" / f"pulumi-v{VERSION}"


def test_the_pinned_release_is_installed_after_its_checksum_matches(
    tmp_path: Path, releases: Releases
) -> None:
    copy = project(tmp_path)
    releases.publish(_archive())
    result = _install(copy, releases)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"v{VERSION}"
    assert (_installed(copy) / "pulumi" / "pulumi").is_file()
    assert releases.requests == [f"/v{VERSION}/{ARCHIVE}", f"/v{VERSION}/{SUMS}"]


@pytest.mark.parametrize(
    ("sums", "archive", "said"),
    [
        (f"{'1' * 64}  {ARCHIVE}\n", _archive(), "checksum mismatch"),
        (f"{'1' * 64}  pulumi-v{VERSION}-darwin-x64.tar.gz\n", _archive(), "lists no checksum"),
        (None, _archive(binary=None), "has no pulumi/pulumi"),
    ],
    ids=["mismatch", "no entry", "no binary"],
)
def test_anything_but_the_published_archive_installs_nothing(
    tmp_path: Path, releases: Releases, sums: str | None, archive: bytes, said: str
) -> None:
    copy = project(tmp_path)
    releases.publish(archive, sums)
    result = _install(copy, releases)
    assert result.returncode == 1 and said in result.stderr, result.stderr
    assert "nothing installed" in result.stderr
    assert not _installed(copy).exists() and not _installed(copy).with_suffix(".partial").exists()


def test_a_broken_earlier_install_is_replaced_and_any_install_path_works(
    tmp_path: Path, releases: Releases
) -> None:
    copy = project(tmp_path)
    releases.publish(_archive())
    home = tmp_path / "it's here"  # a quote in the path
    broken = home / f"pulumi-v{VERSION}" / "pulumi"
    broken.mkdir(parents=True)
    (broken / "leftover").write_text("")
    result = run(
        copy, "-c", "source scripts/lib.sh && install_pulumi_cli && use_installed_pulumi_cli "
        "&& pulumi version", path=BASE_PATH, VOS_PULUMI_RELEASES=releases.url,
        VOS_PULUMI_HOME=str(home),
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == f"v{VERSION}", result.stderr
    assert not (broken / "leftover").exists()
    assert sorted(p.name for p in home.iterdir()) == [f"pulumi-v{VERSION}"]  # nothing left


def test_up_sh_installs_the_cli_only_when_missing_and_after_every_check(
    tmp_path: Path, releases: Releases
) -> None:
    copy = project(tmp_path)
    releases.publish(_archive())
    tools = tmp_path / "tools"
    stub(tools, "docker", 'echo "true"')  # a daemon answers; swap accounting on
    # python3 passes the prerequisite check, then fails to make the virtualenv: up.sh stops
    # right after installing the CLI.
    stub(tools, "python3", 'case "$1" in -c) exit 0 ;; *) exit 1 ;; esac')
    result = run(copy, "scripts/up.sh", "dev", path=f"{tools}:{BASE_PATH}",
                 VOS_PULUMI_RELEASES=releases.url)  # fmt: skip
    assert "installing the Pulumi CLI" in result.stderr, result.stderr
    assert (_installed(copy) / "pulumi" / "pulumi").is_file()
    assert "could not create a virtualenv" in result.stderr
    # A second run finds it installed and downloads nothing.
    before = len(releases.requests)
    again = run(copy, "scripts/up.sh", "dev", path=f"{tools}:{BASE_PATH}",
                VOS_PULUMI_RELEASES=releases.url)  # fmt: skip
    assert "installing the Pulumi CLI" not in again.stderr and len(releases.requests) == before


def test_the_pinned_cli_is_the_sdk_version_the_project_is_tested_with() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    sdk = re.search(r'"pulumi>=([0-9.]+),', pyproject)
    assert sdk and VERSION.startswith(sdk[1])
