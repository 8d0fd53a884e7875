"""The backup service's settings: `backup.postgres.{schedule, retention}` and its image.
Bad values are refused at preview with the key and the fix; what loads is what Barman and
the service's scheduler read."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import stack_overrides


def _problems(environment: str, overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environment, overrides, REGISTRY)
    return {p.key: f"{p.message} | {p.fix}" for p in caught.value.problems}


def _with_backup(environment: str, backup: dict[str, Any], **service: Any) -> dict[str, Any]:
    own = stack_overrides(environment)
    services = {**own.get("services", {})}
    services["postgresBackup"] = {**services.get("postgresBackup", {}), "enabled": True, **service}
    return own | {"services": services, "backup": {"postgres": backup}}


def test_prod_backs_up_by_default_and_dev_may_switch_it_on() -> None:
    prod = load_settings("prod", stack_overrides("prod"), REGISTRY)
    assert prod.is_enabled("postgresBackup")
    assert prod.backup.postgres.schedule == "0 3 * * *"
    assert prod.backup.postgres.retention_policy == "RECOVERY WINDOW OF 7 DAYS"
    dev = load_settings("dev", stack_overrides("dev"), REGISTRY)
    assert not dev.is_enabled("postgresBackup")
    on = load_settings("dev", _with_backup("dev", {"schedule": "*/30 * * * *"}), REGISTRY)
    assert on.is_enabled("postgresBackup")
    assert on.service("postgresBackup").build is not None  # dev builds it from its source


@pytest.mark.parametrize(
    ("retention", "policy"),
    [("7d", "RECOVERY WINDOW OF 7 DAYS"), ("4w", "RECOVERY WINDOW OF 4 WEEKS"),
     ("365d", "RECOVERY WINDOW OF 365 DAYS")],
)  # fmt: skip
def test_the_retention_becomes_barman_s_recovery_window(retention: str, policy: str) -> None:
    settings = load_settings("dev", _with_backup("dev", {"retention": retention}), REGISTRY)
    assert settings.backup.postgres.retention_policy == policy


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("schedule", "0 3 * *", "not a cron expression of five fields"),
        ("schedule", "0 0 3 * * *", "not a cron expression of five fields"),  # seconds field
        ("schedule", "61 3 * * *", "not a cron expression of five fields"),
        ("retention", "7", "not a valid retention"),
        ("retention", "0d", "not a valid retention"),
        ("retention", "7 days", "not a valid retention"),
        ("retention", "2m", "not a valid retention"),  # months: not said, so not guessed
    ],
)
def test_a_bad_schedule_or_retention_is_refused_with_its_key(
    key: str, value: str, said: str
) -> None:
    problems = _problems("dev", _with_backup("dev", {key: value}))
    assert said in problems[f"vos-infra:backup.postgres.{key}"]


def test_prod_pins_the_backup_image_and_never_builds_it() -> None:
    problems = _problems(
        "prod", _with_backup("prod", {}, image=None, build={"context": "images/postgres-backup"})
    )
    assert "never a local build" in problems["vos-infra:services.postgresBackup.build"]
    tag = _problems("prod", _with_backup("prod", {}, image="vos/postgres-backup:1.0.0"))
    assert "pinned by digest" in tag["vos-infra:services.postgresBackup.image"]


def test_a_service_with_a_published_image_still_may_not_be_built() -> None:
    own = stack_overrides("dev")
    services = {**own.get("services", {}), "edge": {"build": {"context": "apps"}, "image": None}}
    problems = _problems("dev", own | {"services": services})
    assert "runs its published image" in problems["vos-infra:services.edge.build"]


def test_the_backup_service_is_never_published() -> None:
    own = _with_backup("dev", {})
    network = {**own.get("network", {}), "publishedPorts": {"postgresBackup": 9188}}
    problems = _problems("dev", own | {"network": network})
    assert "serves nothing" in problems["vos-infra:network.publishedPorts.postgresBackup"]
