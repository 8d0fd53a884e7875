"""The Swarm target's prometheus.yml, which finds every task of each app by DNS
(components/prometheus/files.py), is one the real promtool accepts; the same file with a
discovery Prometheus does not know is refused, so the check can fail. (Syntax only: the
files it names live in the task. That Swarm's DNS answers `tasks.<alias>` with every
replica is seen on the tier's real Swarm, tests/docker/test_swarm_services.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from components.prometheus.files import CONFIG
from tests.helpers import swarm_config_file, swarm_overrides
from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config, with_overrides


def _promtool(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_promtool_takes_the_swarm_scrape_config_and_refuses_a_broken_one(tmp_path: Path) -> None:
    config = with_overrides(read_stack_config("dev"), **swarm_overrides("dev"))
    text = swarm_config_file(evaluate("dev", config), "prometheus", CONFIG)
    good = tmp_path / "prometheus.yml"
    good.write_text(text)
    done = _promtool(good)
    assert done.returncode == 0, done.stdout + done.stderr
    document = yaml.safe_load(text)
    [job] = [j for j in document["scrape_configs"] if j["job_name"] == "api-gateway"]
    job["dns_sd_configs"][0]["type"] = "TXT-ISH"
    bad = tmp_path / "broken.yml"
    bad.write_text(yaml.safe_dump(document))
    refused = _promtool(bad)
    assert refused.returncode != 0 and "TXT-ISH" in refused.stdout + refused.stderr
