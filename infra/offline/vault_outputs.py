"""Outputs of the Vault resources the program consumes (an AppRole's role id and secret
id), answered as components/vault/access.py's provider answers them: a create makes a role
id and a secret id; an update keeps both unless `rotation` changed, which issues a new
secret id (and destroys the old one) under the same role id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

APPROLE = "pulumi-python:dynamic/vault:AppRole"


def _secret_id() -> dict[str, str]:
    return {"secret_id": str(uuid.uuid4()), "secret_id_accessor": str(uuid.uuid4())}


def approle_created(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {**inputs, "role_id": str(uuid.uuid4()), **_secret_id()}


def approle_updated(
    old_inputs: Mapping[str, Any], old_outputs: Mapping[str, Any], inputs: Mapping[str, Any]
) -> dict[str, Any]:
    kept = {k: old_outputs.get(k) for k in ("role_id", "secret_id", "secret_id_accessor")}
    rotated = old_inputs.get("rotation") != inputs.get("rotation")
    return {**inputs, **kept, **(_secret_id() if rotated else {})}


CREATED = {APPROLE: approle_created}
UPDATED = {APPROLE: approle_updated}
