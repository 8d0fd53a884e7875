"""Which database roles exist: one per consuming service, each with its own schema."""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.settings import Settings

DATABASE = "vos"
ADMIN_ROLE = "vos_admin"
"""The bootstrap superuser. Over the network it authenticates only with a client certificate."""


@dataclass(frozen=True)
class Role:
    name: str
    """Role name and schema name (a valid unquoted SQL identifier)."""
    service: str
    """DNS name of the consuming service (owner of the password in Vault)."""

    @property
    def credential_id(self) -> str:
        return f"{self.service}/postgres-password"


IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def roles(settings: Settings) -> list[Role]:
    found = []
    if settings.is_enabled("apiGateway"):
        found.append(Role("api_gateway", "api-gateway"))
    found += [Role(f"agent_{a.name.replace('-', '_')}", a.dns_name) for a in settings.agents]
    # Role names are written into SQL unquoted: make sure they are plain identifiers.
    bad = [role.name for role in found if not IDENTIFIER.match(role.name)]
    if bad:
        raise ValueError(f"not a plain SQL identifier: {bad}")
    return found
