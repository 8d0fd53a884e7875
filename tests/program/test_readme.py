"""The README stays true and short: what it says runs is what the registry assembles, the
CLI version it asks for is the one pyproject.toml pins, every script it and the docs pages
name exists, its first block holds the two commands, and it links every docs page."""

from __future__ import annotations

import os
import re
from pathlib import Path

from components.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def test_what_runs_today_is_what_the_registry_assembles() -> None:
    statement = README.split("**What runs today:**", 1)[1].split("\n\n", 1)[0]
    # "<running> as hardened containers ... [<pending> are defined ... have no container yet]"
    running, _, pending = statement.split("have no container yet", 1)[0].partition("are defined")
    for definition in REGISTRY:
        name = _letters(definition.key)
        if definition.component:
            assert name in _letters(running.split("as hardened containers")[0]), definition.key
            assert name not in _letters(pending), definition.key
        else:
            assert name in _letters(pending) or name in _letters(running), definition.key
            assert name not in _letters(running.split("as hardened containers")[0])


def test_the_minimum_pulumi_cli_is_the_sdk_pyproject_pins() -> None:
    pinned = re.search(r'"pulumi>=([0-9.]+),', (ROOT / "pyproject.toml").read_text())
    assert pinned and f"the Pulumi CLI **{pinned.group(1)} or newer**" in README


DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_every_script_the_readme_and_the_docs_name_exists_and_runs() -> None:
    named = set(re.findall(r"\bscripts/[a-z.-]+", README))
    assert {"scripts/up.sh", "scripts/test.sh", "scripts/env.sh", "scripts/vos-infra"} <= named
    for page in DOCS:
        named |= set(re.findall(r"\bscripts/[a-z.-]+", page.read_text()))
    for script in named:
        assert os.access(ROOT / script, os.X_OK), script


def test_the_first_block_holds_the_two_commands() -> None:
    block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert [c.split()[0] for c in commands] == ["./scripts/up.sh", "./scripts/test.sh"]


def test_the_readme_is_read_in_minutes_and_leads_to_every_docs_page() -> None:
    assert len(README.splitlines()) < 150, "move the detail into a docs/ page and link it"
    links = set(re.findall(r"\]\(([^)#]+)\)", README))
    local = {link for link in links if "://" not in link}
    assert not [link for link in local if not (ROOT / link).exists()]
    unlinked = [p.name for p in DOCS if f"docs/{p.name}" not in local]
    assert not unlinked, f"README links no {unlinked}"
