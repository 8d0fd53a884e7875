"""Every alert has its runbook and every runbook section its alert (docs/runbooks/alerts.md),
each section says what the alert means, how to confirm it and what to do, and what it tells
an operator to run exists: the scripts, the `vos-infra` subcommands, the containers by
name, the dashboards by title, the files it cites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.grafana.dashboards import all_dashboards
from tests.alert_rules import alert_rules
from tools.cli.main import _parser
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbooks" / "alerts.md"
URL = "docs/runbooks/alerts.md#"


_rules = alert_rules


def _sections() -> dict[str, str]:
    """`## Name` heading -> the section's text."""
    parts = re.split(r"^## (\S+)\n", RUNBOOK.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_alert_links_its_own_section_and_every_section_has_its_alert() -> None:
    rules, sections = _rules(), _sections()
    assert set(sections) == set(rules)
    for name, rule in rules.items():
        # GitHub's anchor of a one-word heading is the word in lower case.
        assert rule["annotations"]["runbook_url"] == URL + name.lower(), name


@pytest.mark.parametrize("name", sorted(_rules()))
def test_each_section_says_what_it_means_how_to_confirm_and_what_to_do(name: str) -> None:
    text = _sections()[name]
    for part in ("**Means.**", "**Confirm.**", "**Do.**"):
        assert text.count(part) == 1, (name, part)
    assert text.index("**Means.**") < text.index("**Confirm.**") < text.index("**Do.**"), name


def test_what_the_runbook_tells_to_run_or_read_exists(dev: Evaluation, prod: Evaluation) -> None:
    text = RUNBOOK.read_text().replace("\n", " ")
    scripts = set(re.findall(r"\bscripts/[\w.-]+", text))
    assert scripts and all((ROOT / s).is_file() for s in scripts), scripts
    cited = set(re.findall(r"(?<![\w/])(?:docs|components|\.github)/[\w./-]+\.\w+", text))
    assert cited and [c for c in cited if not (ROOT / c).is_file()] == []
    subcommands = set(next(a for a in _parser()._actions if a.dest == "command").choices)
    used = set(re.findall(r"\bvos-infra ([a-z]+)", text))
    assert used and used <= subcommands, used - subcommands
    # Every container or volume named without a placeholder is one a stack has (dev, or
    # prod for what dev leaves off: the backup service).
    running, volumes = set(), set()
    for evaluation in (dev, prod):
        running |= {f"vos-{evaluation.stack}-{name}" for name in containers(evaluation)}
        volumes |= {str(v.inputs["name"]) for v in evaluation.of_type("docker:index/volume:Volume")}
    named = re.findall(r"\bvos-<stack>-([a-z][a-z-]*[a-z])\b", text)
    either = [{f"vos-dev-{n}", f"vos-prod-{n}"} & (running | volumes) for n in named]
    assert named and all(either), [n for n, found in zip(named, either, strict=True) if not found]
    # Every dashboard named by its title is one Grafana is given.
    titles = {d["title"] for d in all_dashboards(logs_from=[], traced=[]).values()}
    quoted = set(re.findall(r'"(VOS / [^"]+)"', text))
    assert quoted and quoted <= titles, quoted - titles
