"""Weaviate cannot run here (no binary for Debian, no Docker): its rendered command and
environment are checked against Weaviate's documented rules, and the entrypoint wrapper is
run by a real /bin/sh against a stand-in binary that reports what Weaviate would receive."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.weaviate import files, roles_job
from tests.helpers import PASSWORD, output, profile
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides


def check_weaviate_rules(env: dict[str, str]) -> list[str]:
    """Weaviate's startup validation (apikey/client.go, authorization config), as a list of
    violations. Written from the documented rules, independent of our renderer."""
    problems = []
    if env.get("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED") != "false":
        problems.append("anonymous access is not explicitly disabled")
    if env.get("AUTHENTICATION_APIKEY_ENABLED") != "true":
        problems.append("API-key authentication is off")
    keys = env.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "").split(",")
    users = env.get("AUTHENTICATION_APIKEY_USERS", "").split(",")
    if not keys or any(k == "" for k in keys):
        problems.append("need at least one key, none empty")
    if not users or any(u == "" for u in users):
        problems.append("need at least one user, none empty")
    if len(users) > 1 and len(users) != len(keys):
        problems.append("length of users and keys must match")
    if any(s != s.strip() or " " in s for s in keys + users):
        problems.append("values are not trimmed: no spaces allowed")
    if len(set(keys)) != len(keys):
        problems.append("duplicate keys map to the first user")
    adminlist = env.get("AUTHORIZATION_ADMINLIST_ENABLED") == "true"
    rbac = env.get("AUTHORIZATION_RBAC_ENABLED") == "true"
    if adminlist == rbac:
        problems.append("exactly one of admin list and RBAC must be enabled")
    if adminlist:
        admins = env.get("AUTHORIZATION_ADMINLIST_USERS", "").split(",")
        readers = [r for r in env.get("AUTHORIZATION_ADMINLIST_READONLY_USERS", "").split(",") if r]
        if not set(admins) | set(readers) <= set(users):
            problems.append("admin list names users without a key")
        if set(admins) & set(readers):
            problems.append("a user is both admin and read-only")
    if rbac:
        roots = [r for r in env.get("AUTHORIZATION_RBAC_ROOT_USERS", "").split(",") if r]
        if not roots:
            problems.append("RBAC needs at least one root user")
        if not set(roots) <= set(users):
            problems.append("root users without a key")
    return problems


def test_the_rule_checker_catches_the_seed_mistakes() -> None:
    seed = {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS": "k1, k2",
    }
    problems = check_weaviate_rules(seed)
    assert "need at least one user, none empty" in problems
    assert "values are not trimmed: no spaces allowed" in problems


@pytest.fixture(scope="module")
def weaviate(dev: Evaluation) -> RenderedContainer:
    return containers(dev)["weaviate"]


def _stand_in(tmp: Path) -> Path:
    binary = tmp / "weaviate"
    binary.write_text(
        "#!/bin/sh\nexec python3 -c 'import json,os,sys; "
        'print(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}))\' "$@"\n'
    )
    binary.chmod(0o755)
    return binary


def _run_entrypoint(container: RenderedContainer, tmp: Path) -> dict[str, object]:
    """Run the rendered entrypoint + command with real /bin/sh; files remapped into tmp."""
    keys = tmp / "api-keys"
    keys.write_text(container.file(files.KEYS_FILE))
    entrypoint = [
        part.replace(files.KEYS_FILE, str(keys)).replace(files.BINARY, str(_stand_in(tmp)))
        for part in container.entrypoint
    ]
    result = subprocess.run(
        [*entrypoint, *container.command],
        env=container.env | {"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    started: dict[str, object] = json.loads(result.stdout)
    return started


def test_what_weaviate_starts_with_obeys_its_rules(
    weaviate: RenderedContainer, dev: Evaluation, tmp_path: Path
) -> None:
    started = _run_entrypoint(weaviate, tmp_path)
    env = started["env"]
    assert isinstance(env, dict)
    assert check_weaviate_rules(env) == []
    users = env["AUTHENTICATION_APIKEY_USERS"].split(",")
    keys = env["AUTHENTICATION_APIKEY_ALLOWED_KEYS"].split(",")
    assert users == ["vos-admin", "vos-reader", "api-gateway", "primary-agent", "weather-agent"]
    # each service's key is the one generated for it, at its user's position
    weather = output(dev.named("credentials-weather-agent-weaviate-api-key"), "result")
    assert keys[users.index("weather-agent")] == weather
    # RBAC: only the platform's admin is root; no app is an administrator
    assert env["AUTHORIZATION_RBAC_ROOT_USERS"] == "vos-admin"
    assert not [k for k in env if k.startswith("AUTHORIZATION_ADMINLIST")]


def test_keys_never_appear_in_the_container_definition(
    weaviate: RenderedContainer, dev: Evaluation
) -> None:
    definition = json.dumps([weaviate.env, weaviate.command, weaviate.entrypoint])
    keys = [
        output(r, "result")
        for r in dev.of_type(PASSWORD)
        if "weaviate" in r.name and r.name.endswith("api-key")
    ]
    assert len(keys) == 5
    assert not [key for key in keys if key in definition]
    assert weaviate.files[files.KEYS_FILE].mode == "0400"


def test_tls_on_rest_and_grpc(weaviate: RenderedContainer) -> None:
    args = weaviate.command
    assert args[args.index("--scheme") + 1] == "https" and args.count("--scheme") == 1
    assert "--port" not in args and "--host" not in args  # no plain listener
    assert args[args.index("--tls-port") + 1] == "8443"  # explicit, never random
    for flag in ("--tls-certificate", "--tls-key"):
        assert args[args.index(flag) + 1] in weaviate.files
    for variable in ("GRPC_CERT_FILE", "GRPC_KEY_FILE"):
        assert weaviate.env[variable] in weaviate.files
    assert weaviate.files["/etc/vos/tls/server.key"].mode == "0400"


def test_metrics_stay_internal(weaviate: RenderedContainer, dev: Evaluation) -> None:
    assert weaviate.ports == []
    assert [n["name"] for n in weaviate.networks] == ["vos-dev-backend"]
    backend = dev.named("networks-backend")
    assert backend.inputs["internal"] is True


def test_publishing_weaviate_exposes_only_the_tls_port() -> None:
    config = read_stack_config("dev")
    published = profile("dev")["network"] | {"publishedPorts": {"weaviate": 18443}}
    ev = evaluate("dev", with_overrides(config, network=published))
    ports = containers(ev)["weaviate"].ports
    assert ports == [{"internal": 8443, "external": 18443, "ip": "127.0.0.1", "protocol": "tcp"}]


def test_an_agent_without_a_key_cannot_exist() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        files.keys_file(["abc", ""])
    with pytest.raises(ValueError, match="without commas or spaces"):
        files.keys_file(["a b"])


def test_each_app_role_reaches_only_its_own_collections_and_no_app_is_root(
    dev: Evaluation,
) -> None:
    plan = json.loads(containers(dev)["weaviate-roles"].file(roles_job.PLAN))
    assert plan["root"] == ["vos-admin"]
    assigned = {a["user"]: a["roles"] for a in plan["assignments"]}
    assert assigned.pop("vos-reader") == ["viewer"]
    assert set(assigned) == {"api-gateway", "primary-agent", "weather-agent"}
    roles = {r["name"]: r["permissions"] for r in plan["roles"]}
    for user, names in assigned.items():
        assert names == [f"vos-app-{user}"]
        prefix = "".join(part.capitalize() for part in user.split("-")) + "*"
        scopes = {(p["action"], json.dumps(p.get("collections") or p.get("data"), sort_keys=True))
                  for p in roles[names[0]]}  # fmt: skip
        actions = {action for action, _ in scopes}
        assert actions == {f"{v}_{k}" for v in ("create", "read", "update", "delete")
                           for k in ("collections", "data")}  # fmt: skip
        for permission in roles[names[0]]:
            scope = permission.get("collections") or permission.get("data")
            assert scope["collection"] == prefix, (user, permission)
    # the job talks to Weaviate over TLS verified by the platform CA and its name
    job = containers(dev)["weaviate-roles"]
    assert job.one_shot and job.entrypoint == ["python3", roles_job.SCRIPT]
    assert "cafile=" in job.file(roles_job.SCRIPT) and "https://weaviate:8443/v1" in job.file(
        roles_job.SCRIPT
    )
    assert job.files[roles_job.ADMIN_KEY].mode == "0400"
