"""The whole stack rendered for a Swarm (`target: swarm`, components/swarm/target.py): the
same specs as on one host, each long-running container a service and each job a Swarm job,
nothing of the single host left, the apps' secrets mounted by the engine where their sidecar
would have rendered them (the very values written to Vault), placed by what each service
is, and the policy pack passing it as it passes one host's."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.app.contract import APP_UID
from components.prometheus.files import CONFIG as PROMETHEUS_YML
from tests.helpers import stack_overrides, swarm_config_file, swarm_overrides
from tools.offline.mocks import MockState, unwrap
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides
from tools.policy.check import check
from tools.policy.config import config_file
from tools.policy.resources import from_evaluation

SERVICE = "docker:index/service:Service"
SECRET = "docker:index/secret:Secret"
JOB = "pulumi-python:dynamic/swarm:Job"
KV = "pulumi-python:dynamic/vault:KvSecret"
NETWORK = "docker:index/network:Network"
ONE_HOST_ONLY = {
    "docker:index/container:Container",
    "docker:index/volume:Volume",
    "docker:index/remoteImage:RemoteImage",
    "docker:index/image:Image",
}


def _swarm(stack: str, state: MockState | None = None, **changes: Any) -> Evaluation:
    overrides = swarm_overrides(stack) | changes
    return evaluate(stack, with_overrides(read_stack_config(stack), **overrides), state=state)


@functools.cache
def _rendered(stack: str) -> Evaluation:
    return _swarm(stack)


@functools.cache
def _one_host_twin(stack: str) -> Evaluation:
    """The same stack on one Docker host: what the Swarm rendering must match."""
    overrides = swarm_overrides(stack)
    gateway = {k: v for k, v in overrides["services"]["apiGateway"].items() if k != "replicas"}
    twin = overrides | {
        "target": "docker",
        "services": {**overrides["services"], "apiGateway": gateway},
        "agents": [{k: v for k, v in a.items() if k != "replicas"} for a in overrides["agents"]],
        "network": {**overrides["network"], "bindAddress": "127.0.0.1"},
    }
    return evaluate(stack, with_overrides(read_stack_config(stack), **twin))


def _services(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Service name on the Swarm (`vos-<stack>-<dns name>`) -> its inputs."""
    return {str(unwrap(r.inputs)["name"]): unwrap(r.inputs) for r in evaluation.of_type(SERVICE)}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_container_of_one_host_is_a_service_or_a_job_and_nothing_else_is_left(
    stack: str,
) -> None:
    swarm, twin = _rendered(stack), _one_host_twin(stack)
    rendered = containers(twin)
    prefix = f"vos-{stack}"
    long_running = {
        f"{prefix}-{name}"
        for name, c in rendered.items()
        if not c.one_shot and not name.endswith("-vault-agent")
    }
    assert set(_services(swarm)) == long_running
    jobs = [unwrap(r.inputs)["name"] for r in swarm.of_type(JOB)]
    one_shots = sorted(name for name, c in rendered.items() if c.one_shot)
    assert sorted(j.rsplit("-", 1)[0].removeprefix(f"{prefix}-") for j in jobs) == one_shots
    assert {r.type for r in swarm.registrations} & ONE_HOST_ONLY == set()


def _secrets_by_name(evaluation: Evaluation) -> dict[str, str]:
    """Swarm secret name -> its plaintext."""
    return {
        str(unwrap(r.inputs)["name"]): base64.b64decode(unwrap(r.inputs)["data"]).decode()
        for r in evaluation.of_type(SECRET)
    }


def _vault_values(evaluation: Evaluation) -> dict[str, str]:
    """KV path -> the `value` the program wrote there."""
    return {
        str(unwrap(r.inputs)["path"]): str(unwrap(r.inputs)["data"]["value"])
        for r in evaluation.of_type(KV)
        if "value" in unwrap(r.inputs)["data"]
    }


def _rendered_by_sidecar(twin: Evaluation, app: str) -> dict[str, str]:
    """On one host: file the app's sidecar renders -> the KV path it reads."""
    agent = json.loads(containers(twin)[f"{app}-vault-agent"].file("/etc/vos/agent.json"))
    found = {}
    for template in agent["template"]:
        path = template["contents"].split('"')[1].split("/data/", 1)[1]
        found[template["destination"]] = path
    return found


@pytest.mark.parametrize("app", ["api-gateway", "primary-agent"])
def test_an_app_gets_what_its_sidecar_renders_as_the_values_written_to_vault(app: str) -> None:
    swarm, twin = _rendered("dev"), _one_host_twin("dev")
    spec = _services(swarm)[f"vos-dev-{app}"]["taskSpec"]["containerSpec"]
    mounted = {s["fileName"]: s for s in spec["secrets"]}
    expected = _rendered_by_sidecar(twin, app)
    assert expected and set(expected) <= set(mounted)
    plaintext, written = _secrets_by_name(swarm), _vault_values(swarm)
    for file, kv_path in expected.items():
        secret = mounted[file]
        assert (secret["fileUid"], secret["fileGid"], secret["fileMode"]) == (
            str(APP_UID), str(APP_UID), 0o400,
        )  # fmt: skip
        assert plaintext[secret["secretName"]] == written[kv_path], file
    # Nothing the app reads from a file is in its environment or in a plain config.
    configs = {c["fileName"] for c in spec.get("configs", [])}
    assert not configs & set(expected)
    assert not any(m.get("type") == "volume" for m in spec.get("mounts", []))


def test_a_rotation_is_a_new_secret_and_so_a_rolling_update_of_the_app() -> None:
    state = MockState()
    first = _services(_swarm("dev", state))["vos-dev-api-gateway"]
    rotated = _swarm("dev", state, rotation={"postgres": 1})
    second = _services(rotated)["vos-dev-api-gateway"]

    def names(inputs: dict[str, Any]) -> dict[str, str]:
        return {
            s["fileName"]: s["secretName"] for s in inputs["taskSpec"]["containerSpec"]["secrets"]
        }

    changed = {f for f in names(first) if names(first)[f] != names(second)[f]}
    assert "/run/vos/secrets/postgres-password" in changed
    assert "/etc/vos/tls/server.key" not in changed  # what did not rotate stays as it was
    new = _secrets_by_name(rotated)[names(second)["/run/vos/secrets/postgres-password"]]
    assert new == _vault_values(rotated)["vos/dev/api-gateway/postgres-password"]
    # two gateway tasks kept apart on two app nodes: one stops before its successor starts
    assert second["updateConfig"]["order"] == "stop-first"


def test_each_service_is_placed_by_what_it_is() -> None:
    services = _services(_rendered("prod"))

    def mode(name: str) -> dict[str, Any]:
        return dict(services[f"vos-prod-{name}"]["mode"])

    def constraints(name: str) -> list[str]:
        return list(services[f"vos-prod-{name}"]["taskSpec"]["placement"].get("constraints", []))

    assert mode("api-gateway") == {"replicated": {"replicas": 2}}
    assert mode("primary-agent") == {"replicated": {"replicas": 3}}
    assert constraints("api-gateway") == constraints("primary-agent") == ["node.labels.apps==true"]
    # kept apart over swarm_overrides' two app nodes (components/swarm/placement.py, spread)
    for app, order, most in (("api-gateway", "stop-first", 1), ("primary-agent", "start-first", 2)):
        inputs = services[f"vos-prod-{app}"]
        assert inputs["updateConfig"]["order"] == inputs["rollbackConfig"]["order"] == order
        assert inputs["taskSpec"]["placement"]["maxReplicas"] == most, app
    wider = _services(_swarm("prod", swarm={"appNodes": 3}))["vos-prod-api-gateway"]
    assert wider["updateConfig"]["order"] == "start-first"
    assert wider["taskSpec"]["placement"]["maxReplicas"] == 1
    for stateful in ("postgres", "rabbitmq", "weaviate"):
        assert mode(stateful) == {"replicated": {"replicas": 1}}, stateful
        assert constraints(stateful) == ["node.labels.data==true"], stateful
        assert services[f"vos-prod-{stateful}"]["updateConfig"]["order"] == "stop-first"
    edge = services["vos-prod-edge"]
    assert mode("edge") == {"global": True} and constraints("edge") == ["node.labels.edge==true"]
    [port] = edge["endpointSpec"]["ports"]
    assert (port["publishMode"], port["publishedPort"]) == ("host", 8443)
    published = [n for n, s in services.items() if s.get("endpointSpec", {}).get("ports")]
    assert published == ["vos-prod-edge"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_overlays_are_internal_unattachable_and_encrypted_as_set(stack: str) -> None:
    networks = {
        str(unwrap(r.inputs)["name"]): unwrap(r.inputs) for r in _rendered(stack).of_type(NETWORK)
    }
    assert {n["driver"] for n in networks.values()} == {"overlay"}
    assert not any(n.get("attachable") for n in networks.values())
    assert all("encrypted" in n["options"] for n in networks.values())
    internal = {name.rsplit("-", 1)[1] for name, n in networks.items() if n.get("internal")}
    assert internal == {"backend", "logs"}
    clear = _swarm("dev", swarm={"encryptedOverlays": False, "appNodes": 2}).of_type(NETWORK)
    assert not any((unwrap(r.inputs).get("options") or {}) for r in clear)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_policy_pack_passes_it_once_the_engines_refuse_new_privileges(
    stack: str, tmp_path: Path
) -> None:
    resources = from_evaluation(_rendered(stack))
    bare = check(resources, stack, config_file(stack))
    # A Swarm service cannot set no-new-privileges: only that rule fails, on every service
    # and job, until the pack's config says the engines set it (the host layer's
    # daemon.json).
    assert {d.policy for d in bare.mandatory} == {"no-new-privileges"}
    tasks = len(_services(_rendered(stack))) + len(_rendered(stack).of_type(JOB))
    assert len(bare.mandatory) == tasks
    config = json.loads(config_file(stack).read_text())
    config["no-new-privileges"] = {
        "enforcementLevel": "mandatory",
        "enginesSetNoNewPrivileges": True,
    }
    with_engines = tmp_path / f"{stack}.json"
    with_engines.write_text(json.dumps(config))
    report = check(resources, stack, with_engines)
    assert report.mandatory == [], report.text()


def test_prometheus_scrapes_every_task_of_each_app_and_still_verifies_its_name() -> None:
    config = yaml.safe_load(swarm_config_file(_rendered("dev"), "prometheus", PROMETHEUS_YML))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for app in ("api-gateway", "primary-agent"):
        job = jobs[app]
        assert "static_configs" not in job, app
        [found] = job["dns_sd_configs"]
        assert (found["names"], found["type"], found["port"]) == ([f"tasks.{app}"], "A", 9464)
        assert job["tls_config"]["server_name"] == app  # the certificate's name, not the task's
    # A single host dials the app's name, as before.
    twin = containers(_one_host_twin("dev"))["prometheus"].file(PROMETHEUS_YML)
    one_host = {job["job_name"]: job for job in yaml.safe_load(twin)["scrape_configs"]}
    assert one_host["api-gateway"]["static_configs"] == [{"targets": ["api-gateway:9464"]}]


def test_no_approle_or_policy_waits_in_vault_for_a_sidecar_that_never_runs() -> None:
    logins = {"pulumi-python:dynamic/vault:AppRole", "pulumi-python:dynamic/vault:Policy"}
    assert not [r.name for r in _rendered("prod").registrations if r.type in logins]
    assert {r.type for r in _one_host_twin("prod").registrations} >= logins


@pytest.mark.parametrize("target", ["swarm", "docker"])
def test_only_the_single_host_asks_vault_settings_of_sidecars(target: str) -> None:
    """No sidecar runs on a Swarm (its apps' secrets are Swarm secrets): an agent image for
    them is not required, Vault's CA for them is not read (its file need not exist), and a
    loopback Vault address (where `pulumi up` runs) is no container's loopback."""
    from components.registry import REGISTRY
    from infra.vault_ca import VaultCaMissing, read_vault_ca
    from stacks import load_settings
    from stacks.rules.vault import for_apps

    raw = {"target": target, "agents": [{"name": "primary"}],
           "vault": {"address": "https://127.0.0.1:8200"}}  # fmt: skip
    problems = {".".join(map(str, p.path)) for p in for_apps(raw, REGISTRY)}
    sidecars = {"vault.agentImage", "vault.caCertFile", "vault.address"}
    assert problems == (set() if target == "swarm" else sidecars)
    overrides = swarm_overrides("dev") if target == "swarm" else stack_overrides("dev")
    vault = {"address": "https://host.docker.internal:8200", "caCertFile": "no/such/ca.pem"}
    loaded = load_settings("dev", overrides | {"vault": vault}, REGISTRY)
    if target == "swarm":
        assert read_vault_ca(loaded, tolerate_missing=False) == ""
    else:
        with pytest.raises(VaultCaMissing, match=r"no/such/ca\.pem"):
            read_vault_ca(loaded, tolerate_missing=False)


def test_only_the_apps_learn_their_node_and_task_from_swarm_templates() -> None:
    from components.app.contract import NODE_TEMPLATE, TASK_TEMPLATE

    told = set()
    for name, inputs in _services(_rendered("dev")).items():
        env = inputs["taskSpec"]["containerSpec"].get("env") or {}
        where = (env.get("VOS_NODE_NAME"), env.get("VOS_TASK_NAME"))
        if where == (NODE_TEMPLATE, TASK_TEMPLATE):
            told.add(name)
        else:
            assert where == (None, None), name
    assert told == {"vos-dev-api-gateway", "vos-dev-primary-agent"}
