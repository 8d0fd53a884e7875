"""Computed outputs of pulumi-docker types that the program consumes (image ids)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


def remote_image(inputs: Mapping[str, Any]) -> dict[str, Any]:
    # Stable per reference, like a pulled image's id for a pinned reference.
    digest = hashlib.sha256(str(inputs.get("name")).encode()).hexdigest()
    return {
        **inputs,
        "imageId": f"sha256:{digest}",
        "repoDigest": f"{inputs.get('name')}@sha256:{digest}",
    }


COMPUTED = {"docker:index/remoteImage:RemoteImage": remote_image}
