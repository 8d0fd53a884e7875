"""Weaviate's backups (backup.weaviate) as rendered, run here: the image's
images/postgres-backup/vos_weaviate.py as the barman account under Debian's python3 (what
the backup service runs), against the Weaviate stand-in started from the rendered container
(tests/integration/weaviate_standin.py: no Weaviate binary exists on these machines; the
stand-in answers Weaviate's documented backup API, so what is proven is our side of it, the
files' owners and modes as the kernel applies them, the sealing and the RBAC grants).

A backup is taken by the backup user only, written by Weaviate (root without capabilities,
in the backup service's group, under the rendered umask) so that the service may read and
remove it, sealed into the store unreadable without the key, and restored onto a new,
empty Weaviate from the store alone (a lost data host)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.weaviate.definition import DEFINITION
from tests.helpers import config_with, output
from tests.integration.local_files import lay_out, private_workdir, remove, run_as, service_account
from tests.integration.rendered_server import hosts_file, in_private_hosts
from tests.integration.weaviate_standin import BACKUP_ACCOUNT, PROJECT, RenderedWeaviate
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate

TOOL = PROJECT / "images" / "postgres-backup" / "vos_weaviate.py"
COLLECTION = "PrimaryAgentTasks"


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate("dev", config_with("dev", services={"postgresBackup": {"enabled": True}}))


@pytest.fixture(scope="module")
def rendered(evaluation: Evaluation) -> dict[str, RenderedContainer]:
    return containers(evaluation)


@pytest.fixture(scope="module")
def hosts() -> Iterator[Path]:
    path = hosts_file([DEFINITION.dns_name])
    yield path
    path.unlink()


def _key(evaluation: Evaluation, credential: str) -> str:
    return str(output(evaluation.named(f"credentials-{credential}"), "result"))


class Service:
    """The backup service's side: its rendered files laid out for barman, a store folder."""

    def __init__(self, container: RenderedContainer, hosts: Path, weaviate: int) -> None:
        self.root = private_workdir(BACKUP_ACCOUNT, "vos-weaviate-backup-")
        self.config = lay_out(container, self.root, BACKUP_ACCOUNT)
        self.store = self.root / "store"
        self.store.mkdir(mode=0o700)
        os.chown(self.store, *service_account(BACKUP_ACCOUNT))
        self.hosts, self.weaviate = hosts, weaviate

    def tool(self, command: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
        where = [
            "--folder", str(folder), "--store-dir", str(self.store),
            *(() if command == "list" else (
                "--url", f"https://{DEFINITION.dns_name}:{self.weaviate}",
                "--ca", str(self.config / "tls" / "ca.crt"),
                "--key-file", str(self.config / "weaviate-api-key"),
                "--scratch", str(self.root / "scratch"),
            )),
        ]  # fmt: skip
        return subprocess.run(
            [*in_private_hosts(self.hosts), *run_as(BACKUP_ACCOUNT), "/usr/bin/python3",
             str(TOOL), command, *where, *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    @property
    def key(self) -> str:
        return str(self.config / "offsite.key")


def _volume() -> Path:
    """A folder as the engine makes a new volume: root's, 0755."""
    path = Path(tempfile.mkdtemp(prefix="vos-weaviate-backups-", dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture
def weaviate(
    rendered: dict[str, RenderedContainer], hosts: Path
) -> Iterator[tuple[RenderedWeaviate, Service]]:
    server = RenderedWeaviate(rendered["weaviate"], hosts, _volume())
    service = None
    try:
        server.start()
        server.apply_roles(rendered["weaviate-roles"])
        service = Service(rendered["postgres-backup"], hosts, server.port)
        yield server, service
    finally:
        server.stop()
        remove(server.backups)
        if service is not None:
            remove(service.root)


def _new_weaviate(rendered: dict[str, RenderedContainer], hosts: Path) -> RenderedWeaviate:
    server = RenderedWeaviate(rendered["weaviate"], hosts, _volume())
    server.start()
    server.apply_roles(rendered["weaviate-roles"])
    return server


def _backup_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split(":")[0].strip()


def test_a_backup_is_sealed_and_restores_onto_a_new_weaviate_from_the_store(
    weaviate: tuple[RenderedWeaviate, Service],
    evaluation: Evaluation,
    rendered: dict[str, RenderedContainer],
    hosts: Path,
) -> None:
    server, service = weaviate
    agent = _key(evaluation, "primary-agent-weaviate-api-key")
    assert server.ask("POST", "/v1/schema", agent, {"class": COLLECTION}).status_code == 200

    name = _backup_id(service.tool("backup", server.backups / "backups", "--key", service.key))
    # Written by Weaviate (root, no capabilities) in the backup service's group, which may
    # write there: what lets the service remove it.
    folder = server.backups / "backups" / name
    for path in [folder, *folder.rglob("*")]:
        info = path.stat()
        assert info.st_uid == 0 and info.st_gid == service_account(BACKUP_ACCOUNT)[1], path
        assert info.st_mode & stat.S_IWGRP, f"{path}: {stat.filemode(info.st_mode)}"
    sealed = service.store / "weaviate" / f"{name}.tar.sealed"
    assert sealed.is_file()
    assert COLLECTION.encode() not in sealed.read_bytes()  # ciphertext only
    listed = service.tool("list", server.backups / "backups")
    assert f"{name} " in listed.stdout and "volume store" in listed.stdout, listed.stdout

    # A lost data host: a new Weaviate, its data and backups volumes empty; the store alone.
    server.stop()
    fresh = _new_weaviate(rendered, hosts)
    service.weaviate = fresh.port
    try:
        assert fresh.ask("GET", f"/v1/schema/{COLLECTION}", agent).status_code == 404
        other = service.root / "other.key"
        shutil.copy(service.key, other)
        other.write_text(other.read_text()[::-1])  # another key of the same form
        os.chown(other, *service_account(BACKUP_ACCOUNT))
        wrong = service.tool("restore", fresh.backups / "backups", "--id", "latest",
                             "--keys", str(other))  # fmt: skip
        assert wrong.returncode != 0 and "key" in wrong.stderr.lower(), wrong.stderr
        assert fresh.ask("GET", f"/v1/schema/{COLLECTION}", agent).status_code == 404

        restored = service.tool(
            "restore", fresh.backups / "backups", "--id", "latest", "--keys", service.key
        )
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"{name}: SUCCESS" in restored.stdout
        assert fresh.ask("GET", f"/v1/schema/{COLLECTION}", agent).status_code == 200

        again = service.tool("restore", fresh.backups / "backups", "--id", name)
        assert again.returncode != 0 and "already exists" in again.stderr, again.stderr
    finally:
        fresh.stop()
        remove(fresh.backups)


def test_the_window_removes_old_backups_weaviate_wrote_from_the_volume_and_the_store(
    weaviate: tuple[RenderedWeaviate, Service], evaluation: Evaluation
) -> None:
    server, service = weaviate
    agent = _key(evaluation, "primary-agent-weaviate-api-key")
    server.ask("POST", "/v1/schema", agent, {"class": COLLECTION})
    folder = server.backups / "backups"
    args = ("--key", service.key, "--window-days", "0")
    first = _backup_id(service.tool("backup", folder, *args))
    time.sleep(1.1)  # ids are to the second
    second = _backup_id(service.tool("backup", folder, *args))
    time.sleep(1.1)
    third = _backup_id(service.tool("backup", folder, *args))
    # Window 0: all before now, but the newest of them is kept (it restores "now - 0").
    assert sorted(p.name for p in folder.iterdir()) == [third]
    assert {p.name for p in (service.store / "weaviate").iterdir()} == {f"{third}.tar.sealed"}
    assert first < second < third


def test_only_the_backup_user_may_take_a_backup(
    weaviate: tuple[RenderedWeaviate, Service], evaluation: Evaluation
) -> None:
    server, _ = weaviate
    agent = _key(evaluation, "primary-agent-weaviate-api-key")
    server.ask("POST", "/v1/schema", agent, {"class": COLLECTION})
    for credential in ("primary-agent-weaviate-api-key", "weaviate-reader-api-key"):
        refused = server.ask(
            "POST", "/v1/backups/filesystem", _key(evaluation, credential), {"id": "vos-x"}
        )
        assert refused.status_code == 403, (credential, refused.text)
    taken = server.ask(
        "POST",
        "/v1/backups/filesystem",
        _key(evaluation, "postgres-backup-weaviate-api-key"),
        {"id": "vos-20261205t000000"},
    )
    assert taken.status_code == 200, taken.text


def test_a_weaviate_with_nothing_in_it_is_not_a_failed_backup(
    weaviate: tuple[RenderedWeaviate, Service],
) -> None:
    server, service = weaviate
    done = service.tool("backup", server.backups / "backups", "--key", service.key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing to back up"), done.stdout
    assert not (server.backups / "backups").exists() or not any(
        (server.backups / "backups").iterdir()
    )
