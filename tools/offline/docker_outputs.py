"""Computed outputs of pulumi-docker types that the program consumes (image ids, a job's
exit code): each function returns the outputs the provider computes, which the mocks add
to the resource's inputs as registered (tools/offline/mocks.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


def remote_image(inputs: Mapping[str, Any]) -> dict[str, Any]:
    # Stable per reference, like a pulled image's id for a pinned reference.
    digest = hashlib.sha256(str(inputs.get("name")).encode()).hexdigest()
    return {
        "imageId": f"sha256:{digest}",
        "repoDigest": f"{inputs.get('name')}@sha256:{digest}",
    }


def container(inputs: Mapping[str, Any]) -> dict[str, Any]:
    # A job (attach) that ran to completion reports its exit code; a service none.
    return {"exitCode": 0 if inputs.get("attach") else None}


COMPUTED = {
    "docker:index/remoteImage:RemoteImage": remote_image,
    "docker:index/container:Container": container,
}
