"""backup.weaviate as the program renders it: Weaviate's backup module writing to a volume
of its own (kept like data) in the backup service's group under umask 0002, the service
mounting that volume and knowing Weaviate as a user whose role takes backups and nothing
else; none of it where the service does not run or on a Swarm. What the files and grants
do on a kernel and the stand-in: tests/integration/test_weaviate_backups.py."""

from __future__ import annotations

import json
from typing import Any

from components.postgres_backup.containers import UID as BACKUP_UID
from components.postgres_backup.weaviate_backups import KEY_FILE
from components.weaviate import files
from components.weaviate.roles import BACKUP_ROLE
from components.weaviate.users import BACKUP_USER
from tests.helpers import output, swarm_overrides
from tools.offline.mocks import unwrap
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

VOLUME = "vos-prod-weaviate-backups"


def _mounts(evaluation: Evaluation, resource: str) -> dict[str, dict[str, Any]]:
    volumes = unwrap(evaluation.named(resource).inputs)["volumes"]
    return {v["containerPath"]: v for v in volumes}


def test_weaviate_writes_its_backups_where_the_service_reads_and_prunes_them() -> None:
    evaluation = evaluate("prod")
    rendered = containers(evaluation)
    weaviate, service = rendered["weaviate"], rendered["postgres-backup"]
    assert weaviate.user == f"0:{BACKUP_UID}"
    assert weaviate.entrypoint is not None and weaviate.entrypoint[2].startswith("umask 0002; ")
    assert weaviate.env["ENABLE_MODULES"] == "backup-filesystem"
    assert weaviate.env["BACKUP_FILESYSTEM_PATH"] == files.BACKUP_PATH
    volume = evaluation.named("weaviate-server-backups")
    assert unwrap(volume.inputs)["name"] == VOLUME and volume.options["retainOnDelete"] is True
    for resource in ("weaviate-server", "postgres-backup-server"):
        assert _mounts(evaluation, resource)[files.BACKUPS] == {
            "volumeName": VOLUME, "readOnly": False, "containerPath": files.BACKUPS,
        }, resource  # fmt: skip
    given = dict(zip(service.command[::2], service.command[1::2], strict=True))
    assert given["--weaviate-url"] == "https://weaviate:8443"
    assert given["--weaviate-backups"] == files.BACKUP_PATH
    assert given["--weaviate-schedule"] == "30 3 * * *"
    assert given["--weaviate-window-days"] == "7" and given["--weaviate-key"] == KEY_FILE
    key = service.files[KEY_FILE]
    assert (key.mode, key.owner) == ("0400", str(BACKUP_UID))
    # The same key is a Weaviate user's, in Weaviate's key file, with its own user name.
    secret = str(output(evaluation.named("credentials-postgres-backup-weaviate-api-key"), "result"))
    assert key.content == secret
    keys = weaviate.files[files.KEYS_FILE].content.split(",")
    users = weaviate.env["AUTHENTICATION_APIKEY_USERS"].split(",")
    assert users[keys.index(secret)] == BACKUP_USER


def test_the_backup_user_s_role_takes_backups_and_reads_collection_definitions_only() -> None:
    plan = json.loads(
        containers(evaluate("prod"))["weaviate-roles"].files["/etc/vos/rbac.json"].content
    )
    (role,) = [r for r in plan["roles"] if r["name"] == BACKUP_ROLE]
    assert sorted(p["action"] for p in role["permissions"]) == [
        "manage_backups",
        "read_collections",
    ]
    assert {"user": BACKUP_USER, "roles": [BACKUP_ROLE]} in plan["assignments"]


def test_without_the_service_or_on_a_swarm_weaviate_runs_as_before() -> None:
    for evaluation in (
        evaluate("dev"),
        evaluate(
            "prod",
            with_overrides(read_stack_config("prod"), backup={"weaviate": {"enabled": False}}),
        ),
    ):
        rendered = containers(evaluation)
        weaviate = rendered["weaviate"]
        assert weaviate.user == "0:0" and "BACKUP_FILESYSTEM_PATH" not in weaviate.env
        assert weaviate.entrypoint is not None and "umask" not in weaviate.entrypoint[2]
        assert files.BACKUPS not in weaviate.volumes
        assert BACKUP_USER not in weaviate.env["AUTHENTICATION_APIKEY_USERS"].split(",")
        if "postgres-backup" in rendered:
            assert "--weaviate-url" not in rendered["postgres-backup"].command
    config = read_stack_config("prod")
    swarm = evaluate("prod", StackConfig(with_overrides(config, **swarm_overrides("prod")).values,
                                         config.secret_keys))  # fmt: skip
    service = json.dumps(unwrap(swarm.named("weaviate-server").inputs))
    assert "BACKUP_FILESYSTEM_PATH" not in service and "umask" not in service
    assert '"taskSpec"' in service or "ENABLE_MODULES" in service  # the spec is there
