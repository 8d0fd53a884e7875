"""Container image references: what a pinned reference looks like."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

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


def is_placeholder(reference: str) -> bool:
    """A digest that stands in for one not looked up yet: sha256("unresolved:<repo:tag>"),
    the scheme Pulumi.prod.yaml documents for pins written without registry access."""
    ref = parse_image(reference)
    if ref.digest is None or ref.tag is None:
        return False
    stand_in = hashlib.sha256(f"unresolved:{ref.repository}:{ref.tag}".encode()).hexdigest()
    return ref.digest == f"sha256:{stand_in}"


def placeholder_problems(images: dict[str, str]) -> list[str]:
    """One line per setting (config key -> image) still pinned to a placeholder, each with
    the commands that pin it for real."""
    found = []
    for key, image in images.items():
        if is_placeholder(image):
            tagged = image.split("@", 1)[0]
            found.append(
                f"{key} = {image} is a placeholder digest, not the registry's. Fix: docker "
                f"buildx imagetools inspect {tagged} --format '{{{{json .Manifest.Digest}}}}', "
                f"then pulumi config set --path '{key}' '{tagged}@<that digest>'"
            )
    return found


PROJECT_DIR = Path(__file__).resolve().parents[1]
LOCAL_REPOSITORY = "vos-local"


def project_path(name: str) -> Path:
    """A path as a setting gives it (a build context, vault.caCertFile): relative to the
    project directory, or absolute (`~` expanded)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else PROJECT_DIR / path


def _bytecode(path: Path) -> bool:
    return path.suffix == ".pyc" or "__pycache__" in path.parts


def local_tag(context: str, dockerfile: str) -> str:
    """The tag a local build gets: `vos-local/<folder>:<hash of the context's files>`, so a
    changed source gives a new tag (and a new container), an unchanged one the same."""
    root = project_path(context)
    digest = hashlib.sha256(dockerfile.encode())
    if root.is_dir():
        # Bytecode caches are not source (Python writes them when the code runs; a
        # .dockerignore keeps them out of the image): they must not change the tag.
        files = (p for p in root.rglob("*") if p.is_file() and not _bytecode(p))
        for path in sorted(files):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    name = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-") or "app"
    return f"{LOCAL_REPOSITORY}/{name}:{digest.hexdigest()[:12]}"
