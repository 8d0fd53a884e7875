"""`vos-infra backup`: what it refuses before it touches the engine (a `--to` that names no
reachable moment, a stack without the backup service), each with the fix. The restore
itself runs on the Docker tier (tests/docker/test_backups.py)."""

from __future__ import annotations

import datetime

import pytest

from components.postgres_backup import files
from tools.backup.from_copies import CopiesError, copies_volume
from tools.backup.target import Target, TargetError, parse_target
from tools.cli import stack_settings
from tools.cli.main import main
from tools.offline.stack_files import StackConfig

NOW = datetime.datetime(2026, 12, 4, 11, 0, tzinfo=datetime.UTC)


def test_latest_and_a_moment_with_its_zone_are_targets() -> None:
    assert parse_target("latest", NOW) == Target(None)
    moment = parse_target("2026-12-04T10:30:00+01:00", NOW).moment
    assert moment == datetime.datetime(2026, 12, 4, 9, 30, tzinfo=datetime.UTC)
    assert Target(moment).barman_args == [
        "--target-time", "2026-12-04T10:30:00+01:00", "--target-action", "promote",
    ]  # fmt: skip
    assert Target(None).barman_args == []  # everything filed, then PostgreSQL promotes


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("yesterday", "neither `latest` nor an ISO 8601 time"),
        ("2026-12-04T10:30:00", "has no time zone"),
        ("2026-12-04T12:00:00+00:00", "is not in the past"),
    ],
)
def test_a_target_that_names_no_reachable_moment_is_refused(text: str, said: str) -> None:
    with pytest.raises(TargetError, match=said):
        parse_target(text, NOW)


def _kept(backup_id: str, end: datetime.datetime, status: str = "DONE") -> dict[str, str]:
    return {"backup_id": backup_id, "status": status, "end_time": end.isoformat(),
            "end_time_timestamp": str(int(end.timestamp()))}  # fmt: skip


def test_a_moment_starts_from_the_newest_backup_that_ended_before_it() -> None:
    hour = datetime.timedelta(hours=1)
    kept = [
        _kept("20261202T030000", NOW - 56 * hour),
        _kept("20261203T030000", NOW - 32 * hour),
        _kept("20261203T120000", NOW - 23 * hour, status="FAILED"),
        _kept("20261204T030000", NOW - 8 * hour),
    ]
    assert Target(None).base_backup(kept) == "latest"
    assert Target(NOW - hour).base_backup(kept) == "20261204T030000"
    # Between two backups: Barman refuses the newer one (it ended after the moment).
    assert Target(NOW - 24 * hour).base_backup(kept) == "20261203T030000"
    assert Target(NOW - 40 * hour).base_backup(kept) == "20261202T030000"
    with pytest.raises(
        TargetError, match=r"the earliest moment a restore reaches is the end of 20261202T030000"
    ):
        Target(NOW - 60 * hour).base_backup(kept)
    with pytest.raises(TargetError, match="none yet"):
        Target(NOW - hour).base_backup([])


def test_the_command_refuses_before_it_reaches_the_engine(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An engine that is not there: reaching it would fail differently.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["backup", "restore", "--stack", "prod", "--to", "2026-12-04T10:30:00"]) == 2
    assert "has no time zone" in capsys.readouterr().err
    assert main(["backup", "restore", "--stack", "prod"]) == 2
    assert "needs --to" in capsys.readouterr().err
    # dev leaves the backup service off
    assert main(["backup", "list", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "stack dev has no backup service" in err
    assert "'vos-infra:services.postgresBackup.enabled' true" in err
    # prod runs it: then the engine is asked, and one that is not there is named
    assert main(["backup", "list", "--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the stack's Docker engine at unix:///nonexistent/docker.sock" in err


def test_the_command_asks_the_engine_the_stack_s_docker_host_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's `docker:host` (its provider's engine) comes before DOCKER_HOST, as in
    `pulumi up` and the program's check of a restored volume (infra/docker_engine.py)."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/environment.sock")
    _with_docker(monkeypatch, {"docker:host": "unix:///nonexistent/stack.sock"})
    assert main(["backup", "list", "--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the stack's Docker engine at unix:///nonexistent/stack.sock" in err


def test_a_secret_tls_material_the_command_cannot_decrypt_names_its_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_KEY_MATERIAL", raising=False)
    _with_docker(monkeypatch, {"docker:keyMaterial": "[secret]"}, secret=["docker:keyMaterial"])
    assert main(["backup", "list", "--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "docker:keyMaterial is a secret" in err and "export DOCKER_KEY_MATERIAL" in err


def _with_docker(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], secret: list[str] | None = None
) -> None:
    """The stack's file as read by the CLI, with these `docker:` settings in it."""
    read = stack_settings.read_stack_config

    def with_values(stack: str) -> StackConfig:
        found = read(stack)
        return StackConfig(found.values | values, [*found.secret_keys, *(secret or [])])

    monkeypatch.setattr(stack_settings, "read_stack_config", with_values)


def test_a_restore_names_postgresql_s_moment_or_weaviate_s_backup_and_only_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    both = ["--to", "latest", "--weaviate", "latest"]
    assert main(["backup", "restore", "--stack", "prod", *both]) == 2
    assert "one of them" in capsys.readouterr().err
    assert main(["backup", "restore", "--stack", "prod", "--weaviate", "latest",
                 "--from-copies"]) == 2  # fmt: skip
    assert "--from-copies goes with restore --to" in capsys.readouterr().err
    for action in (["now"], ["restore", "--weaviate", "latest"]):
        assert main(["backup", *action, "--stack", "dev"]) == 2
        assert "stack dev has no backup service" in capsys.readouterr().err


class _Service:
    """The running backup service as the engine describes it (its command and mounts)."""

    def __init__(self, command: list[str]) -> None:
        mounts = [{"Destination": files.OFFSITE_STORE, "Name": "vos-prod-postgres-backup-offsite"}]
        self.attrs = {"Config": {"Cmd": command}, "Mounts": mounts}


def test_copies_are_restored_from_their_volume_and_a_bucket_is_the_runbook_s() -> None:
    volume = _Service(["--store-dir", files.OFFSITE_STORE, "--offsite-key", files.OFFSITE_KEY])
    assert copies_volume(volume) == "vos-prod-postgres-backup-offsite"  # type: ignore[arg-type]
    bucket = _Service(["--s3-bucket", "vos-backups", "--offsite-key", files.OFFSITE_KEY])
    with pytest.raises(CopiesError, match=r"in a bucket .*A lost data host"):
        copies_volume(bucket)  # type: ignore[arg-type]
    with pytest.raises(CopiesError, match="makes no copies"):
        copies_volume(_Service(["--schedule", "0 3 * * *"]))  # type: ignore[arg-type]
