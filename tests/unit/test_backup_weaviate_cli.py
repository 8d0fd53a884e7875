"""`vos-infra backup` for Weaviate (tools/backup/weaviate.py): the arguments it hands the
service's own vos_weaviate.py come from the command the program renders for the backup
service, and the tool's own parser takes them (with a volume store and with S3 through
the egress proxy)."""

from __future__ import annotations

import pytest

from components.postgres_backup import files
from components.weaviate import files as weaviate
from tests.backup_image import load_sibling
from tests.helpers import config_with
from tools.backup.restore import RestoreError
from tools.backup.weaviate import tool_arguments
from tools.offline.rendered import containers
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig, read_stack_config, with_overrides

vos_weaviate = load_sibling("vos_weaviate")
S3 = {
    "postgres": {
        "offsite": "s3",
        "s3": {
            "bucket": "vos-backups",
            "region": "eu-central-1",
            "accessKeyId": "AKIAEXAMPLEKEYID0001",
            "secretAccessKey": "an-example-secret-access-key-value",
        },
    }
}


def _service_command(**overrides: object) -> list[str]:
    services = {"postgresBackup": {"enabled": True}}
    evaluation = evaluate("dev", config_with("dev", services=services, **overrides))
    return containers(evaluation)["postgres-backup"].command


def _prod_to_s3() -> list[str]:
    """prod's copies to a bucket, its secret key set as `pulumi config set --secret` does."""
    config = with_overrides(read_stack_config("prod"), backup=S3)
    evaluation = evaluate(
        "prod", StackConfig(config.values, [*config.secret_keys, "vos-infra:backup"])
    )
    return containers(evaluation)["postgres-backup"].command


@pytest.mark.parametrize("backup", [False, True], ids=["volume", "s3"])
def test_each_action_gets_what_the_service_was_started_with(backup: bool) -> None:
    command = _prod_to_s3() if backup else _service_command()
    given = dict(zip(command[::2], command[1::2], strict=True))
    for action in ("list", "backup", "restore"):
        arguments = tool_arguments(given, action, "latest")
        parsed = vos_weaviate._arguments(arguments)  # the tool's own parser takes them
        assert parsed.command == action and parsed.folder == weaviate.BACKUP_PATH
        if backup:
            assert parsed.s3_bucket == "vos-backups" and parsed.proxy == given["--proxy"]
            assert parsed.proxy_cert == files.EGRESS_CERT
        else:
            assert parsed.store_dir == files.OFFSITE_STORE
        if action == "list":
            continue
        assert parsed.url == "https://weaviate:8443" and parsed.key_file == given["--weaviate-key"]
        assert parsed.scratch == files.OFFSITE_SCRATCH
    assert vos_weaviate._arguments(tool_arguments(given, "backup")).key == files.OFFSITE_KEY
    restoring = vos_weaviate._arguments(tool_arguments(given, "restore", "vos-20261205t033000"))
    assert restoring.id == "vos-20261205t033000" and restoring.keys == [files.OFFSITE_KEY]


def test_a_service_that_does_not_back_weaviate_up_is_said_so() -> None:
    command = _service_command(backup={"weaviate": {"enabled": False}})
    assert "--weaviate-url" not in command
    with pytest.raises(RestoreError, match=r"backup\.weaviate\.enabled"):
        tool_arguments(dict(zip(command[::2], command[1::2], strict=True)), "list")
