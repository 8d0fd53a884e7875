"""Where each container's image comes from: pinned by digest in prod, exactly one of image
or build, builds in dev only for the VOS apps and the services that have no published image,
from a folder that holds the Dockerfile."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from stacks.images import parse_image, project_path
from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, runners, runs_apps, section, set_hint
from stacks.services import Catalogue


def prod_digests(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("environment") != "prod":
        return
    images: list[tuple[tuple[str | int, ...], Any]] = []
    services = section(raw, "services")
    for key in catalogue.keys:
        if enabled(services, key):
            images.append((("services", key, "image"), section(services, key).get("image")))
    agents = raw.get("agents")
    if isinstance(agents, list):
        for i, agent in enumerate(agents):
            if isinstance(agent, Mapping):
                images.append((("agents", i, "image"), agent.get("image")))
    if runs_apps(raw, catalogue):
        images.append((("vault", "agentImage"), section(raw, "vault").get("agentImage")))
    for path, image in images:
        if not isinstance(image, str):
            continue
        try:
            pinned = parse_image(image).pinned_by_digest
        except ValueError:
            continue  # reported by the field rule
        if not pinned:
            yield Problem(
                path,
                f"prod accepts only images pinned by digest, got '{image}'",
                set_hint(path, "'<repository>:<tag>@sha256:<digest>'")
                + " (docker buildx imagetools inspect <repository>:<tag> prints the digest)",
            )


def image_sources(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """Each container runs exactly one of: a published image, or (a VOS app, dev only) an
    image built from a source folder on the Docker host."""
    for path, values, _, buildable in runners(raw, catalogue):
        image, build = values.get("image"), values.get("build")
        if image is None and build is None:
            yield Problem(
                (*path, "image"),
                "is required but not set"
                + (" (or build, to build it from source)" if buildable else ""),
                set_hint((*path, "image"), "<repository>:<tag>"),
            )
            continue
        if build is None:
            continue
        if image is not None:
            yield Problem(
                (*path, "build"),
                "is set together with image: set one of them",
                f"pulumi config rm --path '{config_key((*path, 'build'))}' or "
                f"pulumi config rm --path '{config_key((*path, 'image'))}'",
            )
        if not buildable:
            yield Problem(
                (*path, "build"),
                f"{path[-1]} runs its published image; only the VOS apps (the gateway, the "
                "agents) and the services without one (the backup service) are built from "
                "source",
                f"pulumi config rm --path '{config_key((*path, 'build'))}'",
            )
        elif raw.get("environment") == "prod":
            yield Problem(
                (*path, "build"),
                "prod runs only images pinned by digest, never a local build: build and push "
                "the image in the release pipeline, then pin it",
                set_hint((*path, "image"), "'<repository>:<tag>@sha256:<digest>'")
                + f" and pulumi config rm --path '{config_key((*path, 'build'))}'",
            )
        if isinstance(build, Mapping):
            yield from _build_context(path, build)


def _build_context(path: tuple[str | int, ...], build: Raw) -> Iterator[Problem]:
    context, dockerfile = build.get("context"), build.get("dockerfile", "Dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str):
        return  # the field rules report it
    folder = project_path(context)
    if not folder.is_dir():
        yield Problem(
            (*path, "build", "context"),
            f"'{context}' is not a folder ({folder}); relative paths are from the project "
            "directory",
            set_hint((*path, "build", "context"), "<folder with the Dockerfile>"),
        )
    elif not (folder / dockerfile).is_file() or ".." in Path(dockerfile).parts:
        yield Problem(
            (*path, "build", "dockerfile"),
            f"'{dockerfile}' is not a file inside the build context {folder}",
            set_hint((*path, "build", "dockerfile"), "<path of the Dockerfile inside the context>"),
        )
