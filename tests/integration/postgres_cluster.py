"""A real PostgreSQL of a rendered stack, its roles made by the rendered role job, and how
its clients connect (verified TLS to the name `postgres` at 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from tests.helpers import output, write_private
from tests.integration.postgres_server import PostgresServer
from tools.offline.mocks import MockState
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig, read_stack_config

PROFILE = read_stack_config("dev")


class Cluster:
    def __init__(
        self, tmp: Path, config: StackConfig = PROFILE, data_mib: int | None = None
    ) -> None:
        self.state = MockState()
        self.evaluation = evaluate("dev", config, state=self.state)
        self.rendered = rendered = containers(self.evaluation)
        self.server = PostgresServer(rendered["postgres"], data_mib)
        self.tmp = tmp
        self.server.start()
        job = self.server.run_job(rendered["postgres-roles"])
        assert job.returncode == 0, job.stderr
        self.ca = write_private(
            tmp, "ca.crt", output(self.evaluation.named("pki-ca-cert"), "certPem")
        )

    def password(self, service: str) -> str:
        return str(
            output(self.evaluation.named(f"credentials-{service}-postgres-password"), "result")
        )

    def connect(self, user: str, password: str | None, **params: Any) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {
            "host": "postgres",
            "hostaddr": "127.0.0.1",
            "port": self.server.port,
            "dbname": "vos",
            "user": user,
            "sslmode": "verify-full",
            "sslrootcert": self.ca,
            "connect_timeout": 10,
        } | params
        if password is not None:
            options["password"] = password
        return psycopg.connect(**options)
