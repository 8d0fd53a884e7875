"""The tag a locally built app gets follows its source: a changed file gives a new tag (a new
container), Python's bytecode caches (written whenever the code runs, kept out of the image by
.dockerignore) do not."""

from __future__ import annotations

from pathlib import Path

from stacks.images import local_tag


def test_the_tag_follows_the_source_and_not_the_bytecode_caches(tmp_path: Path) -> None:
    context = tmp_path / "my-app"
    (context / "pkg").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\n")
    (context / "pkg" / "main.py").write_text("print('a')\n")
    first = local_tag(str(context), "Dockerfile")
    assert first.startswith("vos-local/my-app:")
    (context / "pkg" / "__pycache__").mkdir()
    (context / "pkg" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\x00\x01")
    (context / "pkg" / "old.pyc").write_bytes(b"\x02")
    assert local_tag(str(context), "Dockerfile") == first
    (context / "pkg" / "main.py").write_text("print('b')\n")
    assert local_tag(str(context), "Dockerfile") != first
    assert local_tag(str(context), "Other.Dockerfile") != local_tag(str(context), "Dockerfile")
