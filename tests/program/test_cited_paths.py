"""Every path of this repository that the docs and the code cite exists (issue 21, item 8).

A citation is a token that starts with one of the repository's top-level folders
(`components/...`, `tests/...`, `./scripts/...`, `$ROOT/scripts/...`) or names one of its
top-level files (`pyproject.toml`, `Pulumi.<stack>.yaml`), optionally followed by pytest's
`::name` (that test or class must then be defined in the file), or the relative target of a
Markdown link, resolved against the Markdown file. What is not a path of this repository is
left alone: paths of other repositories (`pkg/engine/project.go`, `internal/provider/...`,
which start with no folder of ours), globs and placeholders (`tests/program/test_*.py`,
`components/<service>/`), f-strings and shell variables, paths inside a container or an URL
(`/etc/...`, `https://.../docs/...`: preceded by a slash), and the generated `.state/` and
`.venv/`, which are no top-level folder of the list.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.report_gc import parse_python

ROOT = Path(__file__).resolve().parents[2]

TOP_FOLDERS = (
    "infra",
    "components",
    "stacks",
    "policies",
    "monitoring",
    "tests",
    "docs",
    "scripts",
    "benchmarks",
    ".ci",
    ".github",
)
"""The repository's top-level folders: a token starting with one of these is a citation.
Written out, not listed from the disk, so that a folder that goes away is still checked."""

TOP_FILES = (
    "README.md",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "pyproject.toml",
    "requirements.txt",
)
"""Besides these, any `Pulumi.<stack>.yaml` is a citation, except in tests/, whose stack
names are often meant not to exist (the "no stack file" errors)."""

NOT_OURS = {
    ("components/prometheus/web_config.py", "docs/web-configuration.md"): (
        "prometheus/exporter-toolkit's documentation (`toolkit docs/web-configuration.md`)"
    ),
    ("tests/engine/test_dynamic_provider_plugin.py", "infra/platform.py"): (
        "the layout before the program moved to the root, which the test rebuilds in tmp_path"
    ),
}
"""(citing file, path as written) -> why it is not a path of this repository although it
looks like one. Each entry must still match a citation (the first test checks it); this
file, which names them here, is excused too."""
HERE = Path(__file__).resolve().relative_to(ROOT).as_posix()

CODE_FOLDERS = ("infra", "components", "policies", "tests", "benchmarks", "scripts")
"""Whose Python files are scanned (their comments, docstrings and strings)."""

_FOLDER = "|".join(re.escape(folder) for folder in TOP_FOLDERS)
_STACK_FILE = re.compile(r"Pulumi\.[\w-]+\.yaml")
_FILE = "|".join([*(re.escape(name) for name in TOP_FILES), _STACK_FILE.pattern])
_REPO_PATH = re.compile(
    # Not inside a longer path, a word or an URL (`/etc/docs/`, `foo.tests/`, `x-docs/`).
    r"(?<![\w./~$@-])"
    # `./scripts/up.sh` and `$ROOT/scripts/lib.sh` (the scripts' root) name the same file.
    r"(?:\./|\$\{?ROOT\}?/)?"
    rf"(?P<path>(?:{_FOLDER})/[\w.+@/-]*|(?:{_FILE})(?![\w./-]))"
    r"(?P<names>(?:::[\w\[\]-]+)*)"
)
_CONTINUATION = re.compile(
    r"[ \t]*\n[ \t#>*]*(?P<rest>[\w.+@-]+(?:/[\w.+@-]+)*\.[A-Za-z]\w*)"
    r"(?P<names>(?:::[\w\[\]-]+)*)"
)
_MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_NOT_A_PATH_AFTER = ("*", "<", "{", "$", "…")
"""A token followed by one of these is a glob, a placeholder or a variable, not a path."""
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Citation:
    source: str
    """The citing file, relative to the repository."""
    line: int
    written: str
    """As the source writes it."""
    target: Path
    """Absolute."""
    names: tuple[str, ...] = ()
    """pytest's `::` parts: a test function or class (parameters stripped), in order."""

    def problem(self) -> str | None:
        """Why the citation is broken, or None."""
        if not self.target.is_relative_to(ROOT):
            return "outside the repository"
        if not self.target.exists():
            return "no such file or folder"
        if not self.names:
            return None
        if not (self.target.is_file() and self.target.suffix == ".py"):
            return "`::` after something that is not a Python file"
        tree = parse_python(self.target.read_text(), str(self.target))
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        missing = [name for name in self.names if name not in defined]
        return f"{', '.join(missing)} not defined in the file" if missing else None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.written} ({self.problem()})"


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _clean(path: str) -> str:
    """A sentence's full stop or a clause's dash is not part of the path."""
    return path.rstrip(".-")


def _continued(text: str, end: int) -> re.Match[str] | None:
    """The rest of a path that a line break cut after a slash (`tests/integration/` at the
    end of a line, the file name at the start of the next, after any comment marker)."""
    return _CONTINUATION.match(text, end) if text[end - 1 : end] == "/" else None


def citations(text: str, source: Path) -> Iterator[Citation]:
    """The repository paths `text` (the content of `source`, an absolute path) cites."""
    name = source.relative_to(ROOT).as_posix() if source.is_relative_to(ROOT) else str(source)
    in_tests = name.startswith("tests/")
    for match in _REPO_PATH.finditer(text):
        path, names, end = match["path"], match["names"], match.end()
        if continued := _continued(text, match.end("path")):
            path, names, end = path + continued["rest"], continued["names"], continued.end()
        if text[end : end + 1] in _NOT_A_PATH_AFTER:
            continue
        path = _clean(path)
        if in_tests and _STACK_FILE.fullmatch(path) and path not in TOP_FILES:
            continue  # a stack the test needs not to exist (`no stack file Pulumi.nope.yaml`)
        tests = tuple(re.sub(r"\[.*", "", part) for part in names.split("::") if part)
        yield Citation(name, _line(text, match.start()), path + names, ROOT / path, tests)
    if source.suffix != ".md":
        return
    for match in _MARKDOWN_LINK.finditer(text):
        target = match["target"]
        if _SCHEME.match(target) or target.startswith("#") or "*" in target or "<" in target:
            continue
        relative = target.split("#", 1)[0]
        base = ROOT if relative.startswith("/") else source.parent
        resolved = (base / relative.lstrip("/")).resolve()
        yield Citation(name, _line(text, match.start("target")), target, resolved)


def scanned_files() -> list[Path]:
    """The docs (every Markdown file of the repository's folders, and the README) and the
    code (Python under CODE_FOLDERS, the scripts, the CI entry point and workflows, the
    project files)."""
    files = {ROOT / "README.md", ROOT / "__main__.py", ROOT / "Pulumi.yaml"}
    files |= set(ROOT.glob("Pulumi.*.yaml")) | {ROOT / "pyproject.toml"}
    for folder in TOP_FOLDERS:
        files |= set((ROOT / folder).rglob("*.md"))
    for folder in CODE_FOLDERS:
        files |= set((ROOT / folder).rglob("*.py"))
    files |= {p for p in (ROOT / "scripts").iterdir() if p.is_file()}
    files |= set((ROOT / ".ci").iterdir()) | set((ROOT / ".github").rglob("*.yml"))
    files |= set((ROOT / "stacks").glob("*.yaml"))
    return sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts)


def test_every_path_the_docs_and_the_code_cite_exists() -> None:
    files = scanned_files()
    assert ROOT / "docs" / "runbooks" / "rotation.md" in files
    assert ROOT / "components" / "app" / "contract.py" in files
    found = [citation for path in files for citation in citations(path.read_text(), path)]
    assert {"README.md", "docs/runbooks/rotation.md", "components/app/contract.py"} <= {
        c.source for c in found
    }
    stale = NOT_OURS.keys() - {(c.source, c.written) for c in found}
    assert not stale, f"exclusions that no longer match a citation: {sorted(stale)}"
    excused = NOT_OURS.keys() | {(HERE, written) for _, written in NOT_OURS}
    broken = [c for c in found if (c.source, c.written) not in excused and c.problem()]
    assert not broken, "broken citations:\n" + "\n".join(map(str, broken))


def test_the_scanner_finds_a_good_citation_and_flags_a_bad_one() -> None:
    """Fed a small text, so that the test above cannot pass by finding nothing."""
    # Assembled at run time, so that this file cites no missing path itself.
    missing_doc = "docs/" + "NO-SUCH-RUNBOOK.md"
    missing_test = "test_" + "that_was_never_written"
    text = (
        "Rendered by components/app/contract.py (checked by tests/program/\n"
        "# test_api_gateway.py::test_the_contract_document_is_rendered_from_the_code).\n"
        f"See {missing_doc}, tests/program/test_readme.py::{missing_test}\n"
        "and [the runbook](runbooks/rotation.md), not [this](runbooks/gone.md).\n"
        "Not ours: pkg/engine/project.go, components/<service>/, tests/program/test_*.py,\n"
        "https://example.org/docs/x.md, /etc/prometheus/web.yml, `Pulumi.<stack>.yaml`.\n"
    )
    example = "EXAMPLE.md"  # a Markdown file of docs/ (not written: only its folder counts)
    found = list(citations(text, ROOT / "docs" / example))
    assert [(c.line, c.written, c.problem()) for c in found] == [
        (1, "components/app/contract.py", None),
        (
            1,
            "tests/program/test_api_gateway.py"
            "::test_the_contract_document_is_rendered_from_the_code",
            None,
        ),
        (3, missing_doc, "no such file or folder"),
        (
            3,
            f"tests/program/test_readme.py::{missing_test}",
            f"{missing_test} not defined in the file",
        ),
        (4, "runbooks/rotation.md", None),
        (4, "runbooks/gone.md", "no such file or folder"),
    ]
    assert [str(c) for c in found if c.problem()] == [
        f"docs/{example}:3: {missing_doc} (no such file or folder)",
        f"docs/{example}:3: tests/program/test_readme.py::{missing_test} "
        f"({missing_test} not defined in the file)",
        f"docs/{example}:4: runbooks/gone.md (no such file or folder)",
    ]
