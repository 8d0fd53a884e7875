"""Images: pinned by tag, never `latest`; pinned by digest where the environment says so."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.rule import REMOTE_IMAGE, UNKNOWN, Rule, Subject

TAG = re.compile(r":[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _pinned(image: Subject) -> Iterator[str]:
    name = image.get("name")
    if name is UNKNOWN or not isinstance(name, str):
        yield "the image reference is not known"
        return
    without_digest = DIGEST.sub("", name)
    tag = TAG.search(without_digest.rsplit("/", 1)[-1])
    if not DIGEST.search(name) and (not tag or tag.group(0) == ":latest"):
        yield f"image {name} has no explicit tag (or `latest`)"


def _digest(image: Subject) -> Iterator[str]:
    name = image.get("name")
    if not isinstance(name, str) or not DIGEST.search(name):
        yield f"image {name} is not pinned by digest (@sha256:...)"


RULES = [
    Rule("image-tag-pinned", "images", "Every image names an explicit tag other than latest.",
         "Use repository:tag (in prod repository:tag@sha256:digest).", Severity.HIGH, _pinned,
         (REMOTE_IMAGE,)),
    Rule("image-digest-pinned", "images", "Every image is pinned by digest.", "Append the "
         "registry's digest: docker buildx imagetools inspect <repository>:<tag>.",
         Severity.HIGH, _digest, (REMOTE_IMAGE,)),
]  # fmt: skip
