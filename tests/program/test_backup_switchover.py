"""backup.postgres.restoredVolume as the program renders it: PostgreSQL mounts the restore
where its data was, its own volume stays registered (kept, untouched), the role job and the
backup service change with it (so the update runs the one again and restarts the other on
the new timeline), and removing the setting gives back what was there before. The engine
side (the volume checked at preview, the switch and back on a real dockerd) is the Docker
tier's: tests/docker/test_backups.py."""

from __future__ import annotations

from typing import Any

import pytest

from components.postgres.containers import DATA
from components.postgres.files import CONF, HBA
from tools.offline.mocks import unwrap
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

RESTORED = "vos-prod-postgres-restore-20261204T102900Z"
OWN = "vos-prod-postgres-data"


def _prod(backup: dict[str, Any]) -> Evaluation:
    return evaluate("prod", with_overrides(read_stack_config("prod"), backup=backup))


def _data_mount(evaluation: Evaluation, resource: str) -> str:
    volumes = unwrap(evaluation.named(resource).inputs)["volumes"]
    return str({v["containerPath"]: v for v in volumes}[DATA]["volumeName"])


def test_postgres_runs_on_the_restore_and_its_own_volume_is_kept(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)  # no engine: the check cannot look
    before, after = _prod({"postgres": {}}), _prod({"postgres": {"restoredVolume": RESTORED}})
    assert _data_mount(before, "postgres-server") == OWN
    assert _data_mount(after, "postgres-server") == RESTORED
    # Not made by the stack (Docker would make an empty one), its own still registered.
    made = [unwrap(v.inputs)["name"] for v in after.of_type("docker:index/volume:Volume")]
    assert RESTORED not in made and OWN in made
    assert after.named("postgres-server-data").options["retainOnDelete"] is True
    # Offline and with no engine named, the check could not run, and says so.
    assert "restoredVolume is not checked without a Docker engine" in caplog.text

    rendered = {when: containers(e) for when, e in (("before", before), ("after", after))}
    roles = {when: r["postgres-roles"].env["VOS_SERVER_VOLUME"] for when, r in rendered.items()}
    assert roles == {"before": OWN, "after": RESTORED}
    for when, volume in (("before", OWN), ("after", RESTORED)):
        command = rendered[when]["postgres-backup"].command
        assert command[command.index("--server-volume") + 1] == volume
        assert command[command.index("--own-volume") + 1] == OWN
    # Nothing else of PostgreSQL changes: the same files (each evaluation generates its own
    # keys and passwords; the configuration is the same text).
    files = {when: r["postgres"].files for when, r in rendered.items()}
    assert sorted(files["before"]) == sorted(files["after"])
    for path in (CONF, HBA):
        assert files["before"][path].content == files["after"][path].content


def test_without_the_setting_nothing_changes_from_before_it_existed() -> None:
    evaluation = evaluate("prod")
    assert _data_mount(evaluation, "postgres-server") == OWN
    assert containers(evaluation)["postgres-roles"].env == {"VOS_SERVER_VOLUME": OWN}


def test_the_backup_service_starts_after_postgres_and_its_role_job() -> None:
    """A switch-over's reset must meet the new server (images/postgres-backup/
    vos_switchover.py), and a first round the backup role."""
    evaluation = evaluate("prod")
    after = {
        urn.rsplit("::", 1)[-1]
        for urn in evaluation.named("postgres-backup-server").options["dependencies"]
    }
    assert {"postgres-server", "postgres-roles"} <= after
    # Nothing else waits for PostgreSQL that did not before (the gateway does not).
    gateway = evaluation.named("api-gateway-app").options["dependencies"]
    assert not [urn for urn in gateway if urn.endswith("::postgres-server")]
