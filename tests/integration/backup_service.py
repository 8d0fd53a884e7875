"""The rendered postgres-backup container run here: its files laid out for the local barman
account, its entrypoint (images/postgres-backup/vos_backup.py) under Debian's python3 with
python3-croniter, as in the image, and Barman (Debian's) against a real PostgreSQL.

Remapped for the test: /etc/vos -> a temporary folder, Barman's home (the data volume) ->
another, `host=postgres` -> the same name at 127.0.0.1 and the server's port (the
certificate is still verified against `postgres`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres_backup import files
from tests.integration.local_files import (
    lay_out,
    private_workdir,
    remap,
    remove,
    run_as,
    service_account,
)
from tests.integration.vault_server import free_port_pair
from tools.offline.rendered import RenderedContainer

ACCOUNT = "barman"
PROJECT = Path(__file__).resolve().parents[2]
ENTRYPOINT = PROJECT / "images" / "postgres-backup" / "vos_backup.py"
SYSTEM_PYTHON = "/usr/bin/python3"
"""Debian's, with the image's packages (python3-croniter, -prometheus-client, -cryptography,
-boto3): what the image runs its scripts with."""


class BackupService:
    def __init__(self, container: RenderedContainer, postgres_port: int) -> None:
        self.container = container
        self.root = private_workdir(ACCOUNT, "vos-barman-")
        self.config = lay_out(container, self.root, ACCOUNT)
        self.home = self.root / "home"
        self.home.mkdir(mode=0o700)
        os.chown(self.home, *service_account(ACCOUNT))
        self._rewrite(files.CONFIG, files.HOME, str(self.home))
        self._rewrite(
            files.SERVER_CONF,
            f"host=postgres port={POSTGRES.tls_port}",
            f"host=postgres hostaddr=127.0.0.1 port={postgres_port}",
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.metrics_port = free_port_pair()
        # backup.postgres.offsite `volume`: the copies' volume, owned by barman as the
        # image's mount point is.
        self.store = self.root / "offsite"
        self.store.mkdir(mode=0o700)
        os.chown(self.store, *service_account(ACCOUNT))

    def path(self, rendered: str) -> Path:
        return Path(remap(rendered, self.config))

    def _rewrite(self, rendered: str, old: str, new: str) -> None:
        path = self.path(rendered)
        text = path.read_text()
        assert old in text, (rendered, old)
        path.write_text(text.replace(old, new))

    def command(self, *args: str) -> list[str]:
        """A rendered command (the healthcheck's, the entrypoint's arguments) made local."""
        local = {
            files.OFFSITE_STORE: str(self.store),
            files.OFFSITE_SCRATCH: str(self.home / "offsite-scratch"),
        }
        return [local.get(part, remap(part, self.config)) for part in args]

    def offsite(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The image's vos_offsite.py (push, fetch) as barman, under Debian's python3."""
        return subprocess.run(
            [*run_as(ACCOUNT), "env", *(f"{k}={v}" for k, v in (env or {}).items()),
             SYSTEM_PYTHON, str(ENTRYPOINT.with_name("vos_offsite.py")), *args],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    def home_at(self, home: Path) -> Path:
        """Barman's configuration again, for a new, empty home (a new host's): the
        configuration file to pass as `config`."""
        folder = self.root / f"config-{home.name}"
        shutil.copytree(self.path(files.SERVERS), folder / "barman.d")
        config = folder / "barman.conf"
        text = self.path(files.CONFIG).read_text()
        config.write_text(
            text.replace(str(self.home), str(home)).replace(
                str(self.path(files.SERVERS)), str(folder / "barman.d")
            )
        )
        subprocess.run(["chown", "-R", ACCOUNT, str(folder)], check=True)
        home.mkdir(mode=0o700)
        os.chown(home, *service_account(ACCOUNT))
        return config

    def barman(
        self, *args: str, timeout: float = 180, config: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        config = config or self.path(files.CONFIG)
        return subprocess.run(
            [*run_as(ACCOUNT), "barman", "-c", str(config), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, server_volume: str | None = None) -> None:
        """The container's main process: the image's entrypoint with the rendered arguments
        (its metrics port moved to a free one; `server_volume`: another volume's, as a
        switch-over renders it)."""
        arguments = self.command(*self.container.command)
        arguments[arguments.index("--metrics-port") + 1] = str(self.metrics_port)
        if server_volume is not None:
            arguments[arguments.index("--server-volume") + 1] = server_volume
        with open(self.root / "entrypoint.log", "ab") as log:
            self.process = subprocess.Popen(
                [*run_as(ACCOUNT), SYSTEM_PYTHON, str(ENTRYPOINT), *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return (self.root / "entrypoint.log").read_text(errors="replace")

    def backups(self) -> list[dict[str, Any]]:
        listed = self.barman("--format", "json", "list-backups", files.SERVER)
        assert listed.returncode == 0, listed.stderr
        found: list[dict[str, Any]] = json.loads(listed.stdout).get(files.SERVER, [])
        return found

    def wait_for_backup(self, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [b for b in self.backups() if b.get("status") == "DONE"]
            if done:
                return done[-1]
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the entrypoint exited: {self.log()[-3000:]}")
            time.sleep(1)
        raise AssertionError(f"no base backup within {timeout} s: {self.log()[-3000:]}")

    def recover(
        self,
        target_time: str | None,
        destination: Path,
        owner: str,
        config: Path | None = None,
        backup_id: str = "latest",
        promote: bool = False,
    ) -> None:
        """`barman recover` of a base backup (the latest unless named) to a moment (None:
        to the end of the WAL it has), into `destination` (a new, empty data directory),
        then handed to the account PostgreSQL runs as. Its parent becomes traversable (not
        readable) for Barman's account, which writes there first."""
        destination.parent.chmod(0o711)
        os.chown(destination, *service_account(ACCOUNT))
        target = ["--target-time", target_time] if target_time else []
        if promote:  # as `vos-infra backup restore` does: a server that runs on its own
            target += ["--target-action", "promote"]
        done = self.barman(
            "recover", *target, files.SERVER, backup_id, str(destination), timeout=3600,
            config=config,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        uid, gid = service_account(owner)
        handed = subprocess.run(
            ["chown", "-R", f"{uid}:{gid}", str(destination)], capture_output=True, check=False
        )
        assert handed.returncode == 0, handed.stderr

    def stop(self, keep: bool = False) -> None:
        """The entrypoint and the pg_receivewal it left; its files too unless `keep` (a
        container replaced: its volumes stay)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        # `barman cron` started pg_receivewal in the background, outside that group.
        self.barman("receive-wal", "--stop", files.SERVER, timeout=60)
        if not keep:
            remove(self.root)
