"""Weaviate RBAC, pure: root only for the platform's admin, the reader a viewer, the backup
service a role that takes and restores backups and nothing else, and a role per VOS app that
reaches only its own collections (`<Prefix>*`, e.g. `WeatherAgent*`).

Set by the roles job (roles_job.py) through Weaviate's REST API, in the shapes the official
Python client sends (weaviate-client 4.16: rbac/executor.py `POST /authz/roles` with
{name, permissions}, `POST /authz/roles/{name}/add-permissions` with {permissions},
users/base.py `POST /authz/users/{id}/assign` with {roles, userType: "db"}; permissions
rbac/models.py: {"action": "<verb>_collections", "collections": {"collection": ...}} and
{"action": "<verb>_data", "data": {"collection": ..., "tenant": ...}},
{"action": "manage_backups", "backups": {"collection": ...}}). A restore asks for the same
grant (usecases/backup/scheduler.go: CREATE on authorization.Backups()).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.app.contract import collection_prefix
from components.app.inputs import apps
from components.weaviate.users import ADMIN_USER, BACKUP_USER, READER_USER
from stacks import Settings

VIEWER_ROLE = "viewer"
"""Weaviate's predefined read-only role."""
ROLE_PREFIX = "vos-app-"
BACKUP_ROLE = "vos-backups"
BACKUP_PERMISSIONS = [
    {"action": "manage_backups", "backups": {"collection": "*"}},
    # Collection definitions, not their data: Weaviate refuses to back up none, so the
    # service asks first whether there is any.
    {"action": "read_collections", "collections": {"collection": "*"}},
]
VERBS = ("create", "read", "update", "delete")


@dataclass(frozen=True)
class AppRole:
    user: str
    """The app's Weaviate user (its DNS name)."""

    @property
    def name(self) -> str:
        return f"{ROLE_PREFIX}{self.user}"

    @property
    def collections(self) -> str:
        return f"{collection_prefix(self.user)}*"

    def permissions(self) -> list[dict[str, Any]]:
        return [
            *({"action": f"{verb}_collections", "collections": {"collection": self.collections}}
              for verb in VERBS),
            *({"action": f"{verb}_data", "data": {"collection": self.collections, "tenant": "*"}}
              for verb in VERBS),
        ]  # fmt: skip


def app_roles(settings: Settings) -> list[AppRole]:
    return [AppRole(app.dns_name) for app in apps(settings)]


def rbac_plan(settings: Settings) -> dict[str, Any]:
    """What the roles job makes true: the roles, and who holds which. The root user is
    Weaviate's own setting (AUTHORIZATION_RBAC_ROOT_USERS), not assigned here."""
    roles = app_roles(settings)
    backups = settings.weaviate_backups
    return {
        "roles": [
            *([{"name": BACKUP_ROLE, "permissions": BACKUP_PERMISSIONS}] if backups else []),
            *({"name": r.name, "permissions": r.permissions()} for r in roles),
        ],
        "assignments": [
            {"user": READER_USER, "roles": [VIEWER_ROLE]},
            *([{"user": BACKUP_USER, "roles": [BACKUP_ROLE]}] if backups else []),
            *({"user": r.user, "roles": [r.name]} for r in roles),
        ],
        "root": [ADMIN_USER],
    }
