"""Which database roles exist: one per consuming service, each with its own schema."""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.postgres.definition import DEFINITION
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.postgres_exporter.definition import DEFINITION as EXPORTER
from stacks import Settings

DATABASE = "vos"
ADMIN_CERTIFICATE = DEFINITION.client_certificate("postgres-admin").name
ADMIN_ROLE = DEFINITION.client_certificate("postgres-admin").common_name
"""The bootstrap superuser. Over the network it authenticates only with a client certificate."""
MONITOR_ROLE = EXPORTER.client_certificate("postgres-monitor").common_name
"""postgres_exporter's role: pg_monitor only, logs in only with its client certificate."""
BACKUP_ROLE = BACKUP.client_certificate("postgres-streaming").common_name
"""The backup service's role: replication and the backup functions, certificate login only."""
BACKUP_SLOT = BACKUP_ROLE
"""The replication slot that keeps the WAL the backup service has not received yet."""


@dataclass(frozen=True)
class Role:
    name: str
    """Role name and schema name (a valid unquoted SQL identifier)."""
    service: str
    """DNS name of the consuming service (owner of the password in Vault)."""

    @property
    def credential_id(self) -> str:
        return DEFINITION.of_consumer(self.service)


IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def roles(settings: Settings) -> list[Role]:
    found = []
    if settings.is_enabled(GATEWAY.key):
        found.append(Role(GATEWAY.dns_name.replace("-", "_"), GATEWAY.dns_name))
    found += [Role(f"agent_{a.name.replace('-', '_')}", a.dns_name) for a in settings.agents]
    # Role names are written into SQL unquoted: make sure they are plain identifiers.
    bad = [role.name for role in found if not IDENTIFIER.match(role.name)]
    if bad:
        raise ValueError(f"not a plain SQL identifier: {bad}")
    return found


def monitor_role(settings: Settings) -> str | None:
    """The exporter's role when the exporter runs (else its login is disabled like any
    managed role that is no longer configured)."""
    return MONITOR_ROLE if settings.is_enabled(EXPORTER.key) else None


def backup_role(settings: Settings) -> str | None:
    """The backup service's role when it runs (else its login is disabled and its slot
    dropped)."""
    return BACKUP_ROLE if settings.is_enabled(BACKUP.key) else None
