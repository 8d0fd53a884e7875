"""The backup service's sealed copies to a bucket (backup.postgres.offsite s3) on real
software: Debian's Squid from the egress proxy's rendered files, moto's S3 server over TLS
as the store (an S3-compatible endpoint, `backup.postgres.s3.endpoint`), and the image's own
`vos_offsite.py push` under Debian's python3 and botocore with the rendered arguments,
credentials file and egress identity. The copies reach the bucket only through the proxy,
only as the backup service, only to the store's own name.

Remapped, as in tests/integration/squid_server.py: the proxy's listener to a free port; the
names (`egress-proxy`, the store's) resolve to 127.0.0.1 in a private /etc/hosts."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3

from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from components.postgres_backup import files
from tests.backup_image import SOURCE
from tests.helpers import config_with, output, throwaway_server, write_private
from tests.integration.backup_service import SYSTEM_PYTHON
from tests.integration.moto_s3 import CREDENTIALS, moto_server
from tests.integration.rendered_server import hosts_file, in_private_hosts
from tests.integration.sockets import free_port
from tests.integration.squid_server import SquidServer
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import StackConfig

STORE, ELSEWHERE = "s3.store.test", "elsewhere.store.test"
BUCKET = "vos-dev-backups"


@dataclass
class Setup:
    evaluation: Evaluation
    backup: RenderedContainer
    proxy: SquidServer
    hosts: Path
    folder: Path
    store_url: str
    store_ca: str

    def file(self, name: str, content: str) -> str:
        return write_private(self.folder, name, content)

    def identity(self, certificate: str) -> tuple[str, str]:
        cert = output(self.evaluation.named(f"pki-{certificate}-cert"), "certPem")
        key = output(self.evaluation.named(f"pki-{certificate}-key"), "privateKeyPem")
        return self.file(f"{certificate}.crt", cert), self.file(f"{certificate}.key", key)

    def push(
        self, identity: tuple[str, str], endpoint: str, attempts: int = 3
    ) -> subprocess.CompletedProcess[str]:
        """The image's push with the rendered arguments, the proxy moved to its test port,
        the rendered files laid out here, `identity` as its certificate at the proxy."""
        command = list(self.backup.command)
        given = dict(zip(command[::2], command[1::2], strict=False))
        rendered = self.backup.files
        platform_ca = output(self.evaluation.named("pki-ca-cert"), "certPem")
        arguments = [
            "push",
            "--key", self.file("offsite.key", rendered[files.OFFSITE_KEY].content),
            "--server-dir", str(_barman_server(self.folder)),
            "--scratch", str(self.folder / "scratch"),
            "--s3-bucket", given["--s3-bucket"], "--s3-region", given["--s3-region"],
            "--s3-prefix", given["--s3-prefix"], "--s3-endpoint", endpoint,
            "--proxy", given["--proxy"].replace(
                f":{EGRESS_PROXY.tls_port}", f":{self.proxy.port}"
            ),
            "--proxy-ca", self.file("platform-ca.crt", platform_ca),
            "--proxy-cert", identity[0], "--proxy-key", identity[1],
        ]  # fmt: skip
        credentials = self.file("s3-credentials", rendered[files.S3_CREDENTIALS].content)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **self.backup.env,
            "AWS_SHARED_CREDENTIALS_FILE": credentials,
            "AWS_CA_BUNDLE": self.store_ca,  # the store's test certificate, end to end
            "AWS_MAX_ATTEMPTS": str(attempts),  # a refusal is final: no retries to wait for
        }
        return subprocess.run(
            [*in_private_hosts(self.hosts), SYSTEM_PYTHON,
             str(SOURCE.with_name("vos_offsite.py")), *arguments],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def client(self) -> Any:
        """The test's own look at the store, straight to moto (by address: its certificate
        names the store, so no name check here; the pushes check it end to end)."""
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return boto3.client(
            "s3", endpoint_url=self.store_url, region_name="eu-central-1", verify=False,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip

    def objects(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return sorted(item["Key"] for item in listed)


def _barman_server(folder: Path) -> Path:
    """A server folder as Barman keeps it: one completed base backup, two WAL segments."""
    server = folder / "barman" / "vos"
    if server.exists():
        return server
    base = server / "base" / "20261204T030000"
    (base / "data").mkdir(parents=True)
    (base / "data" / "PG_VERSION").write_text("15\n")
    (base / "backup.info").write_text("status=DONE\nbegin_wal=000000010000000000000002\n")
    for segment in ("000000010000000000000002", "000000010000000000000003"):
        (server / "wals" / segment[:16]).mkdir(parents=True, exist_ok=True)
        (server / "wals" / segment[:16] / segment).write_bytes(os.urandom(4096))
    return server


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("backup-egress")
    port = free_port()
    endpoint = f"https://{STORE}:{port}"
    s3 = {"bucket": BUCKET, "region": "eu-central-1", "endpoint": endpoint, **{
        "accessKeyId": CREDENTIALS["AWS_ACCESS_KEY_ID"] * 2,
        "secretAccessKey": CREDENTIALS["AWS_SECRET_ACCESS_KEY"] * 3,
    }}  # fmt: skip
    base = config_with(
        "dev",
        services={"postgresBackup": {"enabled": True}, "egressProxy": {"enabled": True}},
        backup={"postgres": {"offsite": "s3", "s3": s3}},
    )
    # As `pulumi config set --secret` leaves the key (stacks/operator_secrets.py).
    evaluation = evaluate("dev", StackConfig(base.values, [*base.secret_keys, "vos-infra:backup"]))
    rendered = containers(evaluation)
    cert, key = throwaway_server(folder, STORE)
    hosts = hosts_file([STORE, ELSEWHERE, EGRESS_PROXY.dns_name])
    with moto_server(port, (cert, key), path_style=True) as url:
        proxy = SquidServer(rendered["egress-proxy"], hosts, free_port())
        made = Setup(evaluation, rendered["postgres-backup"], proxy, hosts, folder, url, cert)
        try:
            made.client().create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
            )  # `vos-infra backend bootstrap` makes it (tests/integration/test_backend.py)
            yield made
        finally:
            proxy.stop()
            hosts.unlink()


def test_the_copies_reach_the_bucket_through_the_proxy_as_the_backup_service(
    setup: Setup,
) -> None:
    pushed = setup.push(setup.identity("postgres-backup-client"), f"https://{STORE}:{_port(setup)}")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert setup.objects() == [
        "postgres/base/20261204T030000.000000010000000000000002.tar.sealed",
        "postgres/wals/0000000100000000/000000010000000000000002.tar.sealed",
        "postgres/wals/0000000100000000/000000010000000000000003.tar.sealed",
    ]
    _logged(setup, rf'identity="/CN=postgres-backup(/[^"]*)?" .*target={STORE}:.*TCP_TUNNEL')


def test_another_identity_or_another_store_is_refused_at_the_proxy(setup: Setup) -> None:
    before = setup.objects()
    # An agent's certificate: a real identity of the platform CA, not the backup service's.
    agent = setup.push(
        setup.identity("primary-agent-client"), f"https://{STORE}:{_port(setup)}", attempts=1
    )
    assert agent.returncode != 0
    # The backup service's own identity, to a store the stack did not name.
    elsewhere = setup.push(
        setup.identity("postgres-backup-client"), f"https://{ELSEWHERE}:{_port(setup)}", 1
    )
    assert elsewhere.returncode != 0
    assert setup.objects() == before
    _logged(setup, r'identity="/CN=primary-agent(/[^"]*)?" .*status=403 result=TCP_DENIED')
    _logged(setup, rf'identity="/CN=postgres-backup(/[^"]*)?" .*target={ELSEWHERE}:.*TCP_DENIED')


def _logged(setup: Setup, pattern: str) -> None:
    """Squid's access log (read as it writes it) gets a line matching `pattern`."""
    found = re.compile(pattern)
    deadline = time.monotonic() + 10
    while not any(found.search(line) for line in setup.proxy.access_log()):
        assert time.monotonic() < deadline, setup.proxy.access_log()[-5:]
        time.sleep(0.1)


def _port(setup: Setup) -> str:
    return setup.store_url.rpartition(":")[2]
