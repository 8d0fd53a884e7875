"""A real PostgreSQL (Debian's postgresql-15) started the way the official image starts it,
with exactly the files our program renders for the postgres container."""

from __future__ import annotations

import glob
import os
import shlex
import subprocess
import time
from pathlib import Path

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

ACCOUNT = "postgres"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql-15")
    return found[-1]


class PostgresServer:
    def __init__(self, container: RenderedContainer, data_mib: int | None = None) -> None:
        """`data_mib`: the data directory (the container's volume) on a filesystem of its own
        of that size (a tmpfs: only what is written takes memory), to fill it."""
        self.container = container
        self.root = private_workdir(ACCOUNT, "vos-pg-")
        self.config = lay_out(container, self.root, ACCOUNT)
        self.disk: Path | None = None
        if data_mib is not None:
            self.disk = self.root / "disk"
            self.disk.mkdir()
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={data_mib}m,mode=0755", "tmpfs",
                            str(self.disk)], check=True, timeout=30)  # fmt: skip
        self.data = (self.disk or self.root) / "data"
        self.socket_dir = self.root / "run"
        self.port = free_port_pair()
        self.process: subprocess.Popen[bytes] | None = None
        for folder in (self.data, self.socket_dir):
            folder.mkdir(mode=0o700)
            os.chown(folder, *service_account(ACCOUNT))

    def _run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run_as(ACCOUNT), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=(os.environ | (env or {})),
            check=False,
        )

    def start(self, initialise: bool = True) -> None:
        """initdb as the image's entrypoint does (superuser and password from the rendered
        environment), then the server with the rendered command, then POSTGRES_DB.
        `initialise=False`: a data directory is already there (a restore), as the
        entrypoint skips both for a volume that holds one."""
        env = self.container.env
        password_file = remap(env["POSTGRES_PASSWORD_FILE"], self.config)
        if initialise:
            init = self._run(
                _bin("initdb"),
                "-D",
                str(self.data),
                f"--username={env['POSTGRES_USER']}",
                f"--pwfile={password_file}",
                *shlex.split(env["POSTGRES_INITDB_ARGS"]),
            )
            assert init.returncode == 0, init.stderr
        command = [remap(part, self.config) for part in self.container.command]
        assert command[0] == "postgres"
        with open(self.root / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                [
                    *run_as(ACCOUNT),
                    _bin("postgres"),
                    "-D",
                    str(self.data),
                    *command[1:],
                    "-c",
                    f"port={self.port}",
                    "-c",
                    f"unix_socket_directories={self.socket_dir}",
                    "-c",
                    "listen_addresses=127.0.0.1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._wait_ready()
        if not initialise:
            return
        created = self.socket_psql(
            "postgres",
            f'CREATE DATABASE "{env["POSTGRES_DB"]}"',
            password=Path(password_file).read_text(),
        )
        assert created.returncode == 0, created.stderr

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self._run(_bin("pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port))
            if ready.returncode == 0:
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"postgres exited: {(self.root / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready")

    def socket_psql(
        self, database: str, sql: str, password: str
    ) -> subprocess.CompletedProcess[str]:
        return self._run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.container.env["POSTGRES_USER"],
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
            env={"PGPASSWORD": password},
        )

    def run_job(self, job: RenderedContainer) -> subprocess.CompletedProcess[str]:
        """Run the role job's rendered command: psql over TLS with the admin certificate.
        The job's `host=postgres` still names the certificate to verify; hostaddr/port
        point it at this test server."""
        root = private_workdir(ACCOUNT, "vos-pg-job-")
        try:
            config = lay_out(job, root, ACCOUNT)
            command = [remap(part, config) for part in job.command]
            command[1] = command[1].replace(
                "host=postgres port=5432", f"host=postgres hostaddr=127.0.0.1 port={self.port}"
            )
            return self._run(*command)
        finally:
            remove(root)

    def halt(self) -> None:
        """The server stopped, its files kept (a container replaced: its volume stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.halt()
        if self.disk is not None:
            subprocess.run(["umount", str(self.disk)], check=False, timeout=30)
        remove(self.root)
