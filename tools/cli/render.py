"""`vos-infra render`: every file each container would receive, plus a manifest.

The output holds real secret material (generated offline, but real keys and passwords):
the folder is created 0700 and every file 0600.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tools.cli.errors import RenderTargetError
from tools.cli.redact import SECRET, scrub
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import evaluate
from tools.private_files import private_dir, write_private


def _manifest_entry(container: RenderedContainer, secrets: set[str]) -> dict[str, Any]:
    env = {
        key: SECRET if key in container.secret_env else scrub(value, secrets)
        for key, value in sorted(container.env.items())
    }
    return {
        "container": container.name,
        "image": container.image,
        "entrypoint": container.entrypoint,
        "command": [scrub(part, secrets) for part in container.command],
        "user": container.user,
        "environment": env,
        "uploads": [
            {"path": f.path, "owner": f.owner, "group": f.group, "mode": f.mode}
            for f in sorted(container.files.values(), key=lambda f: f.path)
        ],
        "ports": container.ports,
        "networks": container.networks,
        "oneShot": container.one_shot,
    }


MANIFEST = "manifest.json"


def _prepare(out: Path) -> None:
    """A new or empty folder, or an earlier render (replaced whole, so no stale file from
    another stack or service stays); anything else is refused before anything is written."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RenderTargetError(f"--out {out} exists and is not a folder; give a folder path")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise RenderTargetError(
                f"--out {out} is a folder with other files in it; render writes into a new or "
                "empty folder, or replaces an earlier render (one with manifest.json)"
            )
        shutil.rmtree(out)


def run_render(stack: str, out: Path) -> str:
    _prepare(out)
    evaluation = evaluate(stack)
    rendered = containers(evaluation)
    secrets = evaluation.secret_values()
    private_dir(out)
    count = 0
    for service, container in rendered.items():
        for file in container.files.values():
            write_private(out / service / file.path.lstrip("/"), file.content)
            count += 1
    manifest = {service: _manifest_entry(c, secrets) for service, c in sorted(rendered.items())}
    write_private(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return (
        f"wrote {count} files for {len(rendered)} containers of stack {stack} to {out}\n"
        "WARNING: these files hold real secret material (keys, passwords); the folder is 0700 "
        "and every file 0600. Delete it when you are done."
    )
