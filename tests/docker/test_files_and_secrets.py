"""Files and secrets as the containers see them: each uploaded file with its owner, mode and
content, out of the service's reach; each app's secrets rendered by its sidecar from Vault,
readable by the app only and never in its container definition."""

from __future__ import annotations

import json

from components.vault_agent.files import CONF, SECRETS_DIR
from tests.docker.checks import file_problems
from tests.docker.probes import (
    APPS,
    read_as_app,
    running,
)
from tests.docker.stack import PREFIX, Stack
from tests.integration.vault_server import root_client
from tools.offline.rendered import containers


def test_each_file_arrives_with_its_owner_and_mode_and_the_service_cannot_change_it(
    stack: Stack,
) -> None:
    rendered, client = containers(stack.evaluation), stack.engine.client()
    problems = [
        p for s in running(stack) for p in file_problems(client, f"{PREFIX}-{s}", rendered[s].files)
    ]
    assert problems == []


def _secret_paths(stack: Stack, app: str) -> list[str]:
    env = containers(stack.evaluation)[app].env
    paths = [v for k, v in env.items() if k.endswith("_FILE") and v.startswith(SECRETS_DIR)]
    keys = env.get("VOS_AGENT_KEY_FILES", "")
    return paths + [pair.split("=", 1)[1] for pair in keys.split(",") if pair]


def _vault_values(stack: Stack, app: str) -> dict[str, str]:
    """Secret file path -> the current value in Vault, read with the root token."""
    root = root_client(stack.vault)
    config = json.loads(containers(stack.evaluation)[f"{app}-vault-agent"].file(CONF))
    found = {}
    for template in config["template"]:
        path = template["contents"].split('"')[1].split("/data/", 1)[1]
        secret = root.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        found[template["destination"]] = secret["data"]["data"]["value"]
    return found


def test_each_app_reads_the_secrets_its_sidecar_rendered_from_vault_and_cannot_change_them(
    stack: Stack,
) -> None:
    for app in APPS:
        want = _vault_values(stack, app)
        assert sorted(want) == sorted(_secret_paths(stack, app)), app
        container = stack.container(app)
        for path, value in want.items():
            stat = container.exec_run(["stat", "-c", "%u %g %a", path]).output.decode()
            assert stat.split() == ["10001", "10001", "400"], (app, path, stat)
            assert read_as_app(stack, app, path) == (0, value), (app, path)
        for command in (["touch", f"{SECRETS_DIR}/x"], ["rm", "-f", next(iter(want))]):
            done = container.exec_run(command, user="10001:10001")
            assert done.exit_code != 0 and b"Read-only file system" in done.output, command
        # the values never entered the app's container definition
        inspected = json.dumps(stack.inspect(f"{PREFIX}-{app}")["Config"])
        assert not [v for v in want.values() if v in inspected], app
