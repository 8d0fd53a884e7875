"""The gateway and the agents as the program declares them: the app contract, their Vault
Agent sidecars, the secrets volume they share, their Vault policies, and agents added and
removed by one settings entry. (The sidecars' rendered configs run on a real `bao agent` in
tests/integration/test_vault_agent.py; the edge on real nginx in test_edge.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.app import contract
from components.app.component import sidecar_name
from components.app.document import contract_markdown
from components.app.inputs import apps
from components.vault_agent.files import CONF, SECRETS_DIR
from tests.helpers import profile
from tools.offline.mocks import MockState, unwrap
from tools.offline.rendered import CONTAINER, RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

DOC = Path(__file__).resolve().parents[2] / "docs" / "APP-CONTRACT.md"
VOLUME = "docker:index/volume:Volume"


def test_the_contract_document_is_rendered_from_the_code() -> None:
    assert DOC.read_text() == contract_markdown(), "run: scripts/vos-infra contract > " + str(
        DOC.relative_to(DOC.parents[1])
    )


def _expected_names(kind: str, jaeger: bool, proxy: bool = True) -> set[str]:
    who = {"all", kind} | ({"when jaeger is enabled"} if jaeger else set())
    who |= {"when egressProxy is enabled"} if proxy else set()
    return {v.name for v in contract.VARIABLES if v.who in who}


def test_each_app_gets_exactly_the_contracts_variables_and_no_secret_in_them(
    stack_update: Evaluation,
) -> None:
    settings = stack_update.result.settings
    rendered = containers(stack_update)
    generated = set(stack_update.secret_values())
    found = apps(settings)
    assert [a.dns_name for a in found] == ["api-gateway", "primary-agent", "weather-agent"]
    for app in found:
        env = rendered[app.dns_name].env
        files = {k for k in env if k.endswith("_FILE") and env[k].startswith(SECRETS_DIR)}
        plain = set(env) - files
        assert plain | {"VOS_AGENT_KEY_FILES"} >= _expected_names(app.kind, True) - files - {
            "VOS_AGENT_KEY_FILES"
        }, app
        optional = settings.is_enabled("jaeger"), settings.is_enabled("egressProxy")
        assert plain <= _expected_names(app.kind, *optional), app
        assert env["VOS_SERVICE_NAME"] == app.dns_name
        assert not [v for v in env.values() if v in generated], app
        assert rendered[app.dns_name].user == f"{contract.APP_UID}:{contract.APP_UID}"


def _templates(sidecar: RenderedContainer) -> dict[str, str]:
    config = json.loads(sidecar.file(CONF))
    return {t["destination"]: t["contents"] for t in config["template"]}


def test_the_sidecar_renders_exactly_the_files_the_app_is_told_to_read(dev: Evaluation) -> None:
    rendered = containers(dev)
    for app in apps(dev.result.settings):
        env = rendered[app.dns_name].env
        told = {v for k, v in env.items() if k.endswith("_FILE") and v.startswith(SECRETS_DIR)}
        keys = env.get("VOS_AGENT_KEY_FILES", "")
        told |= {pair.split("=", 1)[1] for pair in keys.split(",") if pair}
        templates = _templates(rendered[sidecar_name(app)])
        assert set(templates) == told, app
        stack = dev.stack
        for destination, contents in templates.items():
            path = contents.split('"')[1]
            owner = path.split("/")[4]  # secret/data/vos/<stack>/<owner>/<name>
            assert path.startswith(f"secret/data/vos/{stack}/"), path
            # its own folder; the gateway also each agent's internal key
            assert owner == app.dns_name or (
                app.kind == "gateway" and path.endswith("/internal-api-key")
            ), (app, path)
            assert destination.endswith(path.rsplit("/", 1)[1])


def _inputs(ev: Evaluation, name: str) -> dict[str, Any]:
    return dict(unwrap(ev.named(name).inputs))


def test_app_and_sidecar_share_a_tmpfs_only_the_sidecar_writes(dev: Evaluation) -> None:
    for app in apps(dev.result.settings):
        volume = _inputs(dev, f"{app.dns_name}-secrets")
        options = volume["driverOpts"]
        assert options["type"] == "tmpfs" and options["device"] == "tmpfs"
        assert f"uid={contract.APP_UID}" in options["o"] and "mode=0700" in options["o"]
        assert {"noexec", "nosuid", "nodev"} <= set(options["o"].split(","))
        mounts = {}
        for registration in dev.of_type(CONTAINER):
            for mount in unwrap(registration.inputs).get("volumes") or []:
                if mount["volumeName"] == volume["name"]:
                    mounts[registration.name] = bool(mount.get("readOnly"))
        assert mounts == {f"{app.dns_name}-app": True, f"{app.dns_name}-vault-agent": False}


def test_the_app_starts_after_its_sidecar_which_alone_reaches_vault(dev: Evaluation) -> None:
    for app in apps(dev.result.settings):
        sidecar = dev.named(f"{app.dns_name}-vault-agent")
        main = dev.named(f"{app.dns_name}-app")
        assert sidecar.urn in main.options["dependencies"]
        side = unwrap(sidecar.inputs)
        assert [n["name"] for n in side["networksAdvanced"]] == ["vos-dev-vault"]
        assert side["user"] == f"{contract.APP_UID}:{contract.APP_UID}"
        # the dev Vault is on the Docker host
        assert side["hosts"] == [{"host": "host.docker.internal", "ip": "host-gateway"}]
        assert side["healthcheck"]["tests"][0] == "CMD" and side["wait"] is True


def test_prod_sidecars_dial_the_configured_vault_and_add_no_host(prod: Evaluation) -> None:
    for app in apps(prod.result.settings):
        side = _inputs(prod, f"{app.dns_name}-vault-agent")
        assert not side.get("hosts")
        config = json.loads(containers(prod)[sidecar_name(app)].file(CONF))
        assert config["vault"]["address"] == "https://vault.vos.internal:8200"


def _policy(ev: Evaluation, service: str) -> str:
    return str(_inputs(ev, f"vault-{service}-policy")["policy"])


def test_only_the_gateway_reads_outside_its_folder_and_only_the_agents_keys(
    dev: Evaluation,
) -> None:
    gateway = _policy(dev, "api-gateway")
    assert 'path "secret/data/vos/dev/api-gateway/*"' in gateway
    for agent in ("primary-agent", "weather-agent"):
        assert f'path "secret/data/vos/dev/{agent}/internal-api-key"' in gateway
        own = _policy(dev, agent)
        assert own.count('path "') == 1 and f"vos/dev/{agent}/*" in own
    assert gateway.count('path "') == 3


def _with_agents(agents: list[dict[str, Any]]) -> Any:
    return with_overrides(read_stack_config("dev"), agents=agents)


PLANNER = {"name": "planner", "image": "vos/planner-agent:1.0.0", "memoryMb": 256, "cpus": 0.5}


def test_adding_an_agent_is_one_entry_and_removing_it_takes_everything_it_had() -> None:
    state = MockState()
    base = profile("dev")["agents"]
    grown = evaluate("dev", _with_agents([*base, PLANNER]), state=state)
    names = {r.name for r in grown.registrations}
    own = {
        "planner-agent-app",
        "planner-agent-vault-agent",
        "planner-agent-secrets",
        "vault-planner-agent-approle",
        "vault-planner-agent-policy",
        "vault-planner-agent-postgres-password",
        "vault-planner-agent-rabbitmq-password",
        "vault-planner-agent-weaviate-api-key",
        "vault-planner-agent-internal-api-key",
        "pki-planner-agent-cert",
        "pki-planner-agent-client-cert",
    }
    assert own <= names
    # the others see it: its role, broker user and Weaviate key, the gateway's policy
    rendered = containers(grown)
    assert "agent_planner" in rendered["postgres-roles"].file("/etc/vos/roles.sql")
    assert "planner-agent" in rendered["rabbitmq"].file("/etc/vos/definitions.json")
    assert "vos/dev/planner-agent/internal-api-key" in _policy(grown, "api-gateway")

    shrunk = evaluate("dev", _with_agents(base), state=state)
    left = {r.name for r in shrunk.registrations}
    # Not registered any more: `pulumi up` deletes them (the AppRole and its policy from
    # Vault, its secrets soft-deleted, its containers and tmpfs).
    assert not [n for n in left if "planner" in n]
    assert "vos/dev/planner-agent" not in _policy(shrunk, "api-gateway")
    after = containers(shrunk)
    assert "planner-agent" not in after["rabbitmq"].file("/etc/vos/definitions.json")
    # its database role is not in the list any more: the role job sets NOLOGIN on it
    assert "agent_planner" not in after["postgres-roles"].file("/etc/vos/roles.sql")


@pytest.mark.parametrize(
    ("agents", "key"),
    [
        ([{**PLANNER, "name": "Planner"}], "vos-infra:agents[0].name"),
        ([{**PLANNER, "image": "vos/planner-agent"}], "vos-infra:agents[0].image"),
        ([{**PLANNER, "name": "edge"}], "vos-infra:agents[0].name"),
    ],
)
def test_a_bad_agent_entry_names_its_key(agents: list[dict[str, Any]], key: str) -> None:
    from stacks.problems import SettingsError

    with pytest.raises(SettingsError) as caught:
        evaluate("dev", _with_agents(agents))
    assert key in caught.value.keys


def test_an_agent_built_from_source_is_built_on_the_host_under_a_tag_of_its_source(
    tmp_path: Path,
) -> None:
    context = tmp_path / "planner"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM vos/agent-base:1\n")
    built = {**PLANNER, "build": {"context": str(context)}}
    del built["image"]
    state = MockState()

    def build_and_image(ev: Evaluation) -> tuple[dict[str, Any], dict[str, Any]]:
        return _inputs(ev, "planner-agent-app-build"), _inputs(ev, "planner-agent-app-image")

    first, image = build_and_image(evaluate("dev", _with_agents([built]), state=state))
    assert first["build"] == {"context": str(context), "dockerfile": str(context / "Dockerfile")}
    assert first["skipPush"] is True and first["imageName"].startswith("vos-local/planner:")
    assert image["name"] == first["imageName"]  # run what was built, found locally
    # the same source: the same tag; a changed source: a new tag, so a new container
    again, _ = build_and_image(evaluate("dev", _with_agents([built]), state=state))
    assert again["imageName"] == first["imageName"]
    (context / "app.py").write_text("print('v2')\n")
    changed, _ = build_and_image(evaluate("dev", _with_agents([built]), state=state))
    assert changed["imageName"] != first["imageName"]


def _settings_with_ca(path: str, **changes: Any) -> Any:
    from components.registry import REGISTRY
    from stacks import load_settings
    from tests.helpers import stack_overrides

    overrides = stack_overrides("dev") | {"vault": {"caCertFile": path}} | changes
    return load_settings("dev", overrides, REGISTRY)


def test_the_vault_ca_file_is_read_and_a_missing_one_stops_a_real_update(tmp_path: Path) -> None:
    from infra.vault_ca import STAND_IN, VaultCaMissing, read_vault_ca
    from tests.helpers import throwaway_ca

    missing = _settings_with_ca(str(tmp_path / "nowhere.pem"))
    assert read_vault_ca(missing, tolerate_missing=True) == STAND_IN  # preview: a warning
    with pytest.raises(VaultCaMissing, match=r"nothing was created.*vos-infra:vault.caCertFile"):
        read_vault_ca(missing, tolerate_missing=False)  # `up`: stops before anything
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for tolerant in (True, False):
        with pytest.raises(VaultCaMissing, match="holds no PEM certificate"):
            read_vault_ca(_settings_with_ca(str(garbage)), tolerate_missing=tolerant)
    good = tmp_path / "ca.pem"
    good.write_text(throwaway_ca())
    assert read_vault_ca(_settings_with_ca(str(good)), tolerate_missing=False) == good.read_text()
    # without any app there is no sidecar, so no CA is read at all
    no_apps = _settings_with_ca(
        str(tmp_path / "nowhere.pem"),
        services={"apiGateway": {"enabled": False}, "edge": {"enabled": False}},
        agents=[],
        network={"publishedPorts": {"edge": None}},
    )
    assert read_vault_ca(no_apps, tolerate_missing=False) == ""
