"""The app's own Weaviate collection, `<VOS_WEAVIATE_COLLECTION_PREFIX>Tasks` (the contract:
every collection an app creates carries its prefix; its Weaviate role reaches no other),
over TLS verified with the platform CA, with the app's own API key (re-read when its file
changes). Readiness makes sure it exists; the agent keeps each answered task in it."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from vos_reference.environment import Weaviate
from vos_reference.secret_file import SecretFile

TIMEOUT_S = 5
ALREADY_EXISTS = 422
"""Weaviate's answer to creating a collection that exists (another replica was first)."""


class Memory:
    def __init__(self, settings: Weaviate, ca: str) -> None:
        self.url = settings.url.rstrip("/")
        self.collection = f"{settings.collection_prefix}Tasks"
        self.key = SecretFile(settings.api_key_file)
        self.context = ssl.create_default_context(cafile=ca)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.value()}"}

    def ready(self) -> bool:
        """The collection exists (created if missing)."""
        if not self.key.value():
            return False
        try:
            with httpx.Client(verify=self.context, timeout=TIMEOUT_S) as client:
                schema = f"{self.url}/v1/schema/{self.collection}"
                found = client.get(schema, headers=self._headers())
                if found.status_code == 404:
                    made = client.post(
                        f"{self.url}/v1/schema",
                        json={"class": self.collection},
                        headers=self._headers(),
                    )
                    # 422 is also Weaviate's answer to an invalid class: ask again.
                    exists = made.status_code == 200 or (
                        made.status_code == ALREADY_EXISTS
                        and client.get(schema, headers=self._headers()).status_code == 200
                    )
                else:
                    exists = found.status_code == 200
        except httpx.HTTPError:
            return False
        return exists

    async def keep(self, properties: dict[str, Any]) -> bool:
        """Store one object in the collection; False when Weaviate did not take it."""
        try:
            async with httpx.AsyncClient(verify=self.context, timeout=TIMEOUT_S) as client:
                answer = await client.post(
                    f"{self.url}/v1/objects",
                    json={"class": self.collection, "properties": properties},
                    headers=self._headers(),
                )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200
