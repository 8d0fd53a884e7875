"""Weaviate users: one API key per user, an admin, a read-only reader, the backup service's
(when it backs Weaviate up), one per app."""

from __future__ import annotations

from dataclasses import dataclass

from components.api_gateway.definition import DEFINITION as GATEWAY
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.weaviate.definition import DEFINITION
from stacks import Settings


@dataclass(frozen=True)
class WeaviateUser:
    name: str
    credential_id: str
    read_only: bool = False


ADMIN_USER = "vos-admin"
"""The only root user (AUTHORIZATION_RBAC_ROOT_USERS)."""
READER_USER = "vos-reader"
BACKUP_USER = "vos-backup"


def users(settings: Settings) -> list[WeaviateUser]:
    found = [
        WeaviateUser(ADMIN_USER, DEFINITION.own("admin-api-key")),
        WeaviateUser(READER_USER, DEFINITION.own("reader-api-key"), read_only=True),
    ]
    if settings.weaviate_backups:
        found.append(WeaviateUser(BACKUP_USER, BACKUP.own("weaviate-api-key")))
    if settings.is_enabled(GATEWAY.key):
        found.append(WeaviateUser(GATEWAY.dns_name, DEFINITION.of_consumer(GATEWAY.dns_name)))
    found += [WeaviateUser(a.dns_name, DEFINITION.of_consumer(a.dns_name)) for a in settings.agents]
    return found
