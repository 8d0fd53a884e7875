"""The alert rules in monitoring/prometheus, checked and unit-tested by the real promtool
(Debian prometheus 2.42); run on a live server by test_monitoring.py, which also checks
the names of every metric the real servers and exporters here provide."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from components.alloy.files import COUNTS
from components.app.contract import METRICS, metric_series
from components.rabbitmq.users import APP_QUEUE_LIMIT
from tests.alert_rules import alert_rules
from tests.backup_image import backup_series
from tests.promql import metric_names, quantiles_without_le

MONITORING = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus"
RULES, TESTS = MONITORING / "rules", MONITORING / "tests"


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd)


_rules = alert_rules


def _cases() -> list[dict[str, Any]]:
    return [
        case
        for path in sorted(TESTS.glob("*.test.yml"))
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]


def test_the_rules_pass_promtools_lint() -> None:
    result = _promtool(
        "check", "rules", "--lint=all", "--lint-fatal", *map(str, RULES.glob("*.yml")), cwd=RULES
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass() -> None:
    result = _promtool("test", "rules", *map(str, TESTS.glob("*.test.yml")), cwd=TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case_with_its_annotations() -> None:
    rules, cases = _rules(), _cases()
    for name, rule in rules.items():
        own = [c for c in cases if c["alertname"] == name]
        firing = [alert for c in own for alert in c["exp_alerts"]]
        assert firing, f"{name}: no case where it fires"
        for alert in firing:
            assert set(alert["exp_annotations"]) == set(rule["annotations"]), name
            assert alert["exp_labels"]["severity"] == rule["labels"]["severity"], name
        if name != "Watchdog":  # fires by design at every evaluation
            assert any(c["exp_alerts"] == [] for c in own), f"{name}: no case where it is silent"
    assert {c["alertname"] for c in cases} <= set(rules)


def test_a_changed_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    # Control: the unit tests notice a rule that no longer does what they say.
    shutil.copytree(MONITORING, tmp_path / "prometheus")
    rule_file = tmp_path / "prometheus" / "rules" / "rabbitmq.yml"
    text = rule_file.read_text()
    assert "> 1000" in text
    rule_file.write_text(text.replace("> 1000", "> 2000"))
    tests = tmp_path / "prometheus" / "tests"
    result = _promtool("test", "rules", str(tests / "rabbitmq.test.yml"), cwd=tests)
    assert result.returncode != 0
    assert "RabbitMQQueueBacklog" in result.stdout + result.stderr


def test_the_queue_alert_watches_the_bound_the_broker_is_given() -> None:
    rule = _rules()["RabbitMQQueueNearLimit"]
    assert rule["expr"].endswith(f"> {APP_QUEUE_LIMIT * 8 // 10}")
    assert f"bound of {APP_QUEUE_LIMIT}" in rule["annotations"]["summary"]


APP_PREFIXES = ("http_server_", "vos_")
"""Metrics only the VOS apps provide: they must be families of the app contract."""
BACKUP = backup_series()
"""The backup service's own series (images/postgres-backup/vos_backup.py), read from its
real endpoint by tests/integration/test_postgres_backup.py."""
ELSEWHERE = {
    # Loki has no binary here: names from the Loki mixin's alerts (grafana/loki
    # production/loki-mixin), labels route and status_code.
    "loki_request_duration_seconds_count",
    # dskit's runtime configuration manager as Loki registers it (Loki v3.5.3
    # pkg/loki/modules.go: runtimeconfig.New with prefix loki_; dskit runtimeconfig/manager.go).
    "loki_runtime_config_last_reload_successful",
}
FROM_LOGS = {counter.metric for count in COUNTS for counter in count.counters}
"""Counted by Alloy from a service's log lines (no Alloy binary here): the lines are checked
on the real services (tests/integration/test_egress_proxy.py, test_edge_routes.py)."""


def test_there_are_at_least_25_alerts() -> None:
    assert len(_rules()) >= 25


def test_app_metrics_the_rules_read_are_in_the_app_contract() -> None:
    contract = {series for metric in METRICS for series in metric_series(metric)}
    read = {name for rule in _rules().values() for name in metric_names(rule["expr"])}
    app = {name for name in read - FROM_LOGS - BACKUP if name.startswith(APP_PREFIXES)}
    assert app and app <= contract, app - contract
    # Every other name is checked on a real server (test_monitoring.py), counted from logs
    # (FROM_LOGS) or listed here.
    assert read >= FROM_LOGS  # each count feeds an alert
    assert all(not n.startswith("loki_") or n in ELSEWHERE for n in read)


def test_every_quantile_keeps_its_buckets() -> None:
    for name, rule in _rules().items():
        assert not quantiles_without_le(rule["expr"]), name
