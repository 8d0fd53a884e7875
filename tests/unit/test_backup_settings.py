"""The backup service's settings: `backup.postgres.{schedule, retention}` and its image.
Bad values are refused at preview with the key and the fix; what loads is what Barman and
the service's scheduler read."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from tests.helpers import stack_overrides, swarm_overrides


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


S3 = {
    "bucket": "vos-prod-backups",
    "region": "eu-central-1",
    "accessKeyId": "AKIAEXAMPLEKEYID0001",
    "secretAccessKey": "an-example-secret-access-key-value",
}


def test_copies_to_a_bucket_name_exactly_what_the_proxy_lets_through() -> None:
    settings = load_settings("prod", _with_backup("prod", {"offsite": "s3", "s3": S3}), REGISTRY)
    store = settings.backup.postgres.s3
    assert store is not None and settings.backup.postgres.offsite == "s3"
    assert str(store.destination) == "vos-prod-backups.s3.eu-central-1.amazonaws.com"
    other = {**S3, "endpoint": "https://minio.example.net:9000"}
    settings = load_settings("prod", _with_backup("prod", {"offsite": "s3", "s3": other}), REGISTRY)
    assert settings.backup.postgres.s3 is not None
    assert str(settings.backup.postgres.s3.destination) == "minio.example.net:9000"


@pytest.mark.parametrize(
    ("backup", "services", "key", "said"),
    [
        ({"offsite": "s3"}, {}, "vos-infra:backup.postgres.s3",
         "is required when backup.postgres.offsite is s3"),
        ({"offsite": "s3", "s3": S3}, {"egressProxy": {"enabled": False}},
         "vos-infra:backup.postgres.offsite", "the egress proxy"),
        ({"s3": S3}, {}, "vos-infra:backup.postgres.s3", "no copy goes to the bucket"),
        ({"offsite": "s3", "s3": {**S3, "bucket": "vos.backups"}}, {},
         "vos-infra:backup.postgres.s3.bucket", "S3 bucket name"),
        ({"offsite": "s3", "s3": {**S3, "region": "Frankfurt"}}, {},
         "vos-infra:backup.postgres.s3.region", "AWS region"),
        ({"offsite": "s3", "s3": {**S3, "endpoint": "http://minio:9000"}}, {},
         "vos-infra:backup.postgres.s3.endpoint", "https://"),
    ],
)  # fmt: skip
def test_a_bucket_without_what_it_needs_is_refused_with_the_fix(
    backup: dict[str, Any], services: dict[str, Any], key: str, said: str
) -> None:
    overrides = _with_backup("prod", backup)
    overrides["services"] = {**overrides["services"], **services}
    problems = _problems("prod", overrides)
    assert key in problems and said in problems[key], problems


def test_the_store_s_secret_key_must_be_a_pulumi_secret() -> None:
    overrides = _with_backup("prod", {"offsite": "s3", "s3": S3})
    with pytest.raises(SettingsError) as caught:
        load_settings("prod", overrides, REGISTRY, is_secret=lambda path: False)
    (problem,) = [p for p in caught.value.problems if "secretAccessKey" in p.key]
    assert "not a Pulumi secret" in problem.message
    assert "pulumi config set --secret --path" in problem.fix
    load_settings("prod", overrides, REGISTRY, is_secret=lambda path: True)


RESTORED = "backup.postgres.restoredVolume"


def test_a_restore_to_switch_over_to_must_be_one_of_this_stack_s() -> None:
    own = "vos-dev-postgres-restore-20261204T102900Z"
    settings = load_settings("dev", _with_backup("dev", {"restoredVolume": own}), REGISTRY)
    assert settings.backup.postgres.restored_volume == own
    assert (
        load_settings("dev", stack_overrides("dev"), REGISTRY).backup.postgres.restored_volume
        is None
    )
    # Another stack's restore: its data would become this stack's.
    other = _problems(
        "dev", _with_backup("dev", {"restoredVolume": own.replace("-dev-", "-prod-")})
    )
    assert "is not a restore of this stack's PostgreSQL" in other[f"vos-infra:{RESTORED}"]
    # A restore of stack `dev-postgres-restore-1` is not one of `dev`'s either.
    nested = "vos-dev-postgres-restore-1-postgres-restore-20261204T102900Z"
    longer = _problems("dev", _with_backup("dev", {"restoredVolume": nested}))
    assert "is not a restore of this stack's PostgreSQL" in longer[f"vos-infra:{RESTORED}"]
    assert (
        "pulumi config rm --path 'vos-infra:backup.postgres.restoredVolume'"
        in other[f"vos-infra:{RESTORED}"]
    )


@pytest.mark.parametrize(
    "name",
    ["vos-dev-postgres-data", "vos-dev-postgres-restore-latest", "/var/lib/postgresql",
     "vos-dev-postgres-restore-20261204T102900Z; rm -rf /", ""],
)  # fmt: skip
def test_only_a_restore_s_name_may_be_switched_over_to(name: str) -> None:
    found = _problems("dev", _with_backup("dev", {"restoredVolume": name}))
    assert "is not a valid restored volume name" in found[f"vos-infra:{RESTORED}"]


def test_a_swarm_runs_no_postgres_on_a_restore() -> None:
    own = stack_overrides("prod")
    restore = {
        "backup": {"postgres": {"restoredVolume": "vos-prod-postgres-restore-20261204T102900Z"}}
    }
    found = _problems("prod", own | {"target": "swarm"} | restore)
    assert "a restore is made on one Docker host" in found[f"vos-infra:{RESTORED}"]


def test_weaviate_is_backed_up_where_it_and_the_service_run_on_one_host() -> None:
    prod = load_settings("prod", stack_overrides("prod"), REGISTRY)
    assert prod.weaviate_backups and prod.backup.weaviate.schedule == "30 3 * * *"
    dev = load_settings("dev", stack_overrides("dev"), REGISTRY)
    assert not dev.weaviate_backups  # no backup service in dev by default
    on = load_settings("dev", _with_backup("dev", {}), REGISTRY)
    assert on.weaviate_backups
    off = _with_backup("dev", {}) | {"backup": {"weaviate": {"enabled": False}}}
    assert not load_settings("dev", off, REGISTRY).weaviate_backups
    found = _problems("dev", _with_backup("dev", {}) | {"backup": {"weaviate": {"schedule": "3"}}})
    assert "not a cron expression" in found["vos-infra:backup.weaviate.schedule"]


def test_on_a_swarm_weaviate_is_not_backed_up_and_asking_for_it_is_refused() -> None:
    swarm = swarm_overrides("prod")
    assert not load_settings("prod", swarm, REGISTRY).weaviate_backups
    asked = swarm | {"backup": {"weaviate": {"enabled": True}}}
    found = _problems("prod", asked)
    assert "Swarm tasks do not share" in found["vos-infra:backup.weaviate.enabled"]
    assert (
        "pulumi config rm --path 'vos-infra:backup.weaviate.enabled'"
        in found["vos-infra:backup.weaviate.enabled"]
    )
