"""Outputs of the Vault resources the program consumes (an AppRole's role id and secret
id), answered as components/vault/access.py's provider answers them: a create makes a role
id and a secret id of `secret_id_ttl`; an update keeps both unless `rotation` or the TTL
changed, which issues a new secret id (and destroys the old one) under the same role id.
(The provider also renews a secret id near its expiry at any update; evaluations here are
seconds apart, so that never comes due.)"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

APPROLE = "pulumi-python:dynamic/vault:AppRole"


def _hours(ttl: Any) -> int:
    found = re.fullmatch(r"(\d+)h", str(ttl))
    return int(found.group(1)) if found else 0


def _secret_id(inputs: Mapping[str, Any]) -> dict[str, Any]:
    hours = _hours(inputs.get("secret_id_ttl"))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours) if hours else None
    return {
        "secret_id": str(uuid.uuid4()),
        "secret_id_accessor": str(uuid.uuid4()),
        "secret_id_expires_at": expires.isoformat() if expires else None,
    }


def approle_created(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {**inputs, "role_id": str(uuid.uuid4()), **_secret_id(inputs)}


KEPT = ("role_id", "secret_id", "secret_id_accessor", "secret_id_expires_at")


def approle_updated(
    old_inputs: Mapping[str, Any], old_outputs: Mapping[str, Any], inputs: Mapping[str, Any]
) -> dict[str, Any]:
    kept = {k: old_outputs.get(k) for k in KEPT}
    renewed = any(old_inputs.get(k) != inputs.get(k) for k in ("rotation", "secret_id_ttl"))
    return {**inputs, **kept, **(_secret_id(inputs) if renewed else {})}


CREATED = {APPROLE: approle_created}
UPDATED = {APPROLE: approle_updated}
