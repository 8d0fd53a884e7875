"""The backup service's integration setup: the rendered PostgreSQL (a Cluster of the dev
profile with the backup service enabled) and the rendered backup service against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from tests.helpers import output, write_private
from tests.integration.backup_service import BackupService
from tests.integration.postgres_cluster import PROFILE, Cluster
from tests.integration.postgres_server import PostgresServer
from tools.offline.stack_files import with_overrides

BACKUP = with_overrides(PROFILE, services={"postgresBackup": {"enabled": True}})


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.cluster = Cluster(tmp, BACKUP)
        self.backup = BackupService(
            self.cluster.rendered["postgres-backup"], self.cluster.server.port
        )
        self.tmp = tmp

    def identity(self) -> dict[str, str]:
        evaluation = self.cluster.evaluation
        return {
            "sslcert": write_private(
                self.tmp,
                "backup.crt",
                output(evaluation.named("pki-postgres-streaming-cert"), "certPem"),
            ),
            "sslkey": write_private(
                self.tmp,
                "backup.key",
                output(evaluation.named("pki-postgres-streaming-key"), "privateKeyPem"),
            ),
        }

    def gateway(self, server: PostgresServer | None = None) -> psycopg.Connection[Any]:
        """The gateway's own login (its data is what is backed up), over verified TLS."""
        port = (server or self.cluster.server).port
        return self.cluster.connect(
            "api_gateway", self.cluster.password("api-gateway"), port=port, autocommit=True
        )
