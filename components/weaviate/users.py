"""Weaviate users: one API key per user, an admin, a read-only reader, one per service."""

from __future__ import annotations

from dataclasses import dataclass

from infra.settings import Settings


@dataclass(frozen=True)
class WeaviateUser:
    name: str
    credential_id: str
    read_only: bool = False


def users(settings: Settings) -> list[WeaviateUser]:
    found = [
        WeaviateUser("vos-admin", "weaviate/admin-api-key"),
        WeaviateUser("vos-reader", "weaviate/reader-api-key", read_only=True),
    ]
    if settings.is_enabled("apiGateway"):
        found.append(WeaviateUser("api-gateway", "api-gateway/weaviate-api-key"))
    found += [WeaviateUser(a.dns_name, f"{a.dns_name}/weaviate-api-key") for a in settings.agents]
    return found
