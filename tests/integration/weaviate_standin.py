"""The Docker tier's Weaviate stand-in (tests/docker/images/weaviate/weaviate.py: Weaviate's
REST API as documented, RBAC and the backup-filesystem module; no Weaviate binary exists
here) started from the rendered weaviate container, as the container would run it: its
rendered entrypoint script (the umask, the keys exported from their file), environment and
command, as uid 0 in the rendered group with every capability dropped (Docker's
`cap_drop: ALL` empties the bounding set the same way), and its roles job's rendered script
applying the RBAC plan.

Remapped for the test, nothing else: /etc/vos -> a private folder, the data and backups
volumes -> folders of the test, the listening ports -> free ones, the image's /bin/weaviate
-> the stand-in, the rendered group (the backup service's uid 10010) -> the local barman
account's group. Names are not remapped: it runs in a mount namespace whose /etc/hosts says
`weaviate` is 127.0.0.1, and so do the clients the tests start the same way."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx

from components.postgres_backup.definition import DEFINITION as BACKUP
from components.weaviate import files
from components.weaviate.definition import DEFINITION
from tests.integration.local_files import lay_out, private_workdir, remap, remove, service_account
from tests.integration.rendered_server import in_private_hosts, retarget, wait_listening
from tests.integration.sockets import free_port
from tools.offline.rendered import RenderedContainer

PROJECT = Path(__file__).resolve().parents[2]
STANDIN = PROJECT / "tests" / "docker" / "images" / "weaviate" / "weaviate.py"
BACKUP_ACCOUNT = "barman"
NAME = f"{DEFINITION.dns_name}:{DEFINITION.tls_port}"


class RenderedWeaviate:
    """`backups`: the folder standing for the backups volume (made by the test as the
    engine makes a volume: root's, 0755)."""

    def __init__(self, container: RenderedContainer, hosts: Path, backups: Path) -> None:
        self.container, self.hosts, self.backups = container, hosts, backups
        self.root = private_workdir("root", "vos-weaviate-")
        self.config = lay_out(container, self.root, "root")
        self.data = self.root / "data"
        self.data.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        uid, group = self.container.user.split(":")
        assert uid == "0" and group == str(BACKUP.image_uid), self.container.user
        local_group = service_account(BACKUP_ACCOUNT)[1]
        shell, flag, script, name = self.container.entrypoint or []
        script = remap(script, self.config).replace(files.BINARY, f"/usr/bin/python3 {STANDIN}")
        env = {k: remap(v, self.config) for k, v in self.container.env.items()}
        env["PERSISTENCE_DATA_PATH"] = str(self.data)
        env["GRPC_PORT"] = str(free_port())
        if "BACKUP_FILESYSTEM_PATH" in env:
            env["BACKUP_FILESYSTEM_PATH"] = env["BACKUP_FILESYSTEM_PATH"].replace(
                files.BACKUPS, str(self.backups)
            )
        command = [remap(part, self.config) for part in self.container.command]
        command[command.index("--tls-port") + 1] = str(self.port)
        with open(self.root / "weaviate.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    *in_private_hosts(self.hosts),
                    "setpriv", "--reuid=0", f"--regid={local_group}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all",
                    "env", "-i", "PATH=/usr/bin:/bin", *(f"{k}={v}" for k, v in env.items()),
                    shell, flag, script, name, *command,
                ],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_listening(self.process, self.port, "the Weaviate stand-in", self.log)

    def log(self) -> str:
        return (self.root / "weaviate.log").read_text(errors="replace")

    def apply_roles(self, job: RenderedContainer) -> None:
        """The roles job's rendered script, as the job runs it, against this server."""
        root = private_workdir("root", "vos-weaviate-roles-")
        config = lay_out(job, root, "root")
        script = config / "rbac.py"
        script.write_text(retarget(script.read_text(), {NAME: self.port}))
        done = subprocess.run(
            [*in_private_hosts(self.hosts), "/usr/bin/python3", str(script)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        remove(root)
        assert done.returncode == 0, done.stdout + done.stderr

    def ask(self, method: str, path: str, key: str, body: Any = None) -> httpx.Response:
        """A request as a user with `key`, over TLS verified for the name `weaviate`."""
        context = ssl.create_default_context(cafile=str(self.config / "tls" / "ca.crt"))
        with httpx.Client(verify=context, timeout=10) as client:
            return client.request(
                method,
                f"https://127.0.0.1:{self.port}{path}",
                json=body,
                headers={"Authorization": f"Bearer {key}", "Host": NAME},
                extensions={"sni_hostname": DEFINITION.dns_name},
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        remove(self.root)
