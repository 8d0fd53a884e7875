"""Container image references: what a pinned reference looks like."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A reference as Docker parses it: optional registry host[:port], path components,
# then an optional tag and an optional digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?/)"
_REFERENCE = re.compile(
    rf"^(?P<repository>{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str | None
    digest: str | None

    @property
    def pinned_by_digest(self) -> bool:
        return self.digest is not None


def parse_image(reference: str) -> ImageRef:
    """Parse a reference; raise ValueError saying what is wrong with it."""
    match = _REFERENCE.match(reference)
    if match is None:
        raise ValueError(
            f"'{reference}' is not a valid image reference "
            "(expected repository:tag or repository:tag@sha256:<64 hex digits>)"
        )
    ref = ImageRef(match["repository"], match["tag"], match["digest"])
    if ref.tag is None and ref.digest is None:
        raise ValueError(f"'{reference}' has neither a tag nor a digest; pin an explicit version")
    if ref.tag == "latest" and ref.digest is None:
        raise ValueError(f"'{reference}' uses the moving 'latest' tag; pin an explicit version")
    return ref
