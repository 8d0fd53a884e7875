"""The Vault providers work when the engine starts them: the plugin is launched exactly as
the engine launches it for this project (tests/engine/plugin_launch.py says how, with the
sources), and driven over the ResourceProvider gRPC protocol with the providers the
program pickled, against a real OpenBao."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import proto, rpc
from pulumi.runtime.sync_await import _sync_await

from tests.engine.plugin_launch import (
    LaunchFailed,
    Plugin,
    launch,
    program_directory,
    stdlib_shadows,
)
from tests.integration.vault_server import root_client
from tools.dev_vault import DevVault
from tools.offline.mocks import unwrap
from tools.offline.monitor import Registration
from tools.offline.runner import Evaluation, evaluate

ROOT = Path(__file__).resolve().parents[2]
KV = "pulumi-python:dynamic/vault:KvSecret"
POLICY = "pulumi-python:dynamic/vault:Policy"
APPROLE = "pulumi-python:dynamic/vault:AppRole"
SWARM_JOB = "pulumi-python:dynamic/swarm:Job"


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    # The dynamic provider answers Configure with acceptSecrets=false: the engine sends it
    # plain values.
    serialized: struct_pb2.Struct = _sync_await(rpc.serialize_properties(unwrap(props), {}))
    return serialized


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    found: dict[str, Any] = unwrap(rpc.deserialize_properties(message))
    return found


@pytest.fixture(scope="module")
def plugin(bao: DevVault) -> Iterator[Plugin]:
    # The engine hands plugins its own environment: here, the Vault variables of up.sh.
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")} | bao.env()
    started = launch(ROOT, env)
    try:
        started.provider.Configure(proto.ConfigureRequest(args=struct({})))
        yield started
    finally:
        started.stop()


@pytest.fixture
def vault(bao: DevVault) -> hvac.Client:
    return root_client(bao)


def _fresh(registration: Registration, **renamed: str) -> dict[str, Any]:
    """The program's inputs for this resource (its pickled provider included), moved to a
    path of their own so that other tests' use of the same server cannot collide."""
    inputs: dict[str, Any] = unwrap(registration.inputs)
    # The SDK sends the pickled provider as a secret; pickled by reference, it names the
    # class in our importable module, which the plugin process must be able to import.
    assert rpc.is_rpc_secret(registration.inputs["__provider"]) and inputs["__provider"]
    return inputs | renamed


def test_the_plugin_starts_in_the_project_root_with_its_virtualenv(plugin: Plugin) -> None:
    assert Path(f"/proc/{plugin.process.pid}/cwd").resolve() == ROOT
    info = plugin.provider.GetPluginInfo(empty_pb2.Empty())
    assert info.version


def test_kv_secret_lifecycle_over_grpc(plugin: Plugin, dev: Evaluation, vault: hvac.Client) -> None:
    registration = next(r for r in dev.of_type(KV) if r.name == "vault-api-gateway-jwt-secret")
    path = f"vos/plugin-{secrets.token_hex(3)}/api-gateway/jwt-secret"
    inputs = _fresh(registration, path=path)
    provider, urn = plugin.provider, registration.urn

    checked = provider.Check(proto.CheckRequest(urn=urn, olds=struct({}), news=struct(inputs)))
    assert list(checked.failures) == []
    created = provider.Create(proto.CreateRequest(urn=urn, properties=checked.inputs))
    outs = plain(created.properties)
    assert created.id == f"secret/{path}" and outs["version"] == 1
    first = unwrap(inputs["data"])
    assert (
        vault.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )["data"]["data"]
        == first
    )

    read = plain(
        provider.Read(proto.ReadRequest(id=created.id, urn=urn, properties=struct(outs))).properties
    )
    assert read["data"] == first and read["version"] == 1

    news = inputs | {"data": {"value": "rotated-" + secrets.token_hex(8)}}
    diff = provider.Diff(
        proto.DiffRequest(id=created.id, urn=urn, olds=struct(outs), news=struct(news))
    )
    assert diff.changes == proto.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    moved = provider.Diff(
        proto.DiffRequest(
            id=created.id, urn=urn, olds=struct(outs), news=struct(news | {"path": path + "x"})
        )
    )
    assert list(moved.replaces) == ["path"]

    updated = plain(
        provider.Update(
            proto.UpdateRequest(id=created.id, urn=urn, olds=struct(outs), news=struct(news))
        ).properties
    )
    assert updated["version"] == 2
    history = vault.secrets.kv.v2.read_secret_version(
        path=path, version=1, mount_point="secret", raise_on_deleted_version=True
    )
    assert history["data"]["data"] == first  # the old version stays readable

    provider.Delete(proto.DeleteRequest(id=created.id, urn=urn, properties=struct(updated)))
    metadata = vault.secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")["data"]
    assert all(v["deletion_time"] for v in metadata["versions"].values())  # soft-deleted


def test_policy_and_approle_over_grpc(plugin: Plugin, dev: Evaluation, vault: hvac.Client) -> None:
    tag = secrets.token_hex(3)
    policy_reg = next(r for r in dev.of_type(POLICY) if "weather-agent" in r.name)
    role_reg = next(r for r in dev.of_type(APPROLE) if "weather-agent" in r.name)
    provider = plugin.provider

    policy_in = _fresh(policy_reg, name=f"plugin-{tag}")
    policy = provider.Create(proto.CreateRequest(urn=policy_reg.urn, properties=struct(policy_in)))
    assert "weather-agent" in vault.sys.read_policy(name=f"plugin-{tag}")["data"]["rules"]

    role_in = _fresh(role_reg, role_name=f"plugin-{tag}", policies=[f"plugin-{tag}"])
    role = provider.Create(proto.CreateRequest(urn=role_reg.urn, properties=struct(role_in)))
    outs = plain(role.properties)
    login = hvac.Client(url=vault.url, verify=vault.session.verify)
    login.auth.approle.login(role_id=outs["role_id"], secret_id=outs["secret_id"])
    assert f"plugin-{tag}" in login.auth.token.lookup_self()["data"]["policies"]

    read = provider.Read(
        proto.ReadRequest(id=role.id, urn=role_reg.urn, properties=role.properties)
    )
    assert read.id == role.id
    provider.Delete(proto.DeleteRequest(id=role.id, urn=role_reg.urn, properties=role.properties))
    provider.Delete(
        proto.DeleteRequest(id=policy.id, urn=policy_reg.urn, properties=policy.properties)
    )
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.auth.approle.read_role(role_name=f"plugin-{tag}")


def test_nothing_on_the_plugins_path_root_shadows_the_standard_library() -> None:
    assert program_directory(ROOT) == ROOT
    for root in (ROOT, ROOT / "policies"):  # the policy pack is started in its own folder
        assert stdlib_shadows(root) == [], root
    # Beside the pack only its package is importable (a plain folder would be a namespace
    # package on the pack's sys.path).
    importable = {p.name for p in (ROOT / "policies").iterdir() if p.is_dir()
                  and p.name.isidentifier() and p.name != "__pycache__"}  # fmt: skip
    assert importable == {"vos_policies"}


def test_the_previous_layout_fails_as_the_engine_would_fail(tmp_path: Path) -> None:
    """Control: the launch emulation reproduces both failures of `main: infra/` with
    infra/platform.py (the layout before this fix), so the tests above can fail."""
    project = tmp_path / "project"
    (project / "infra").mkdir(parents=True)
    (project / "infra" / "platform.py").write_text('"""the old assembly module"""\n')
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    (project / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "old", "runtime": runtime, "main": "infra/"})
    )
    (project / ".venv").symlink_to(ROOT / ".venv")  # where up.sh creates it
    assert stdlib_shadows(project / "infra") == ["platform"]
    with pytest.raises(LaunchFailed, match=r"infra/\.venv\" doesn't exist"):
        launch(project, dict(os.environ))
    # Even with a virtualenv there, infra/ comes first on sys.path and breaks the imports.
    (project / "infra" / ".venv").symlink_to(ROOT / ".venv")
    with pytest.raises(LaunchFailed, match=r"did not start[\s\S]*(platform|circular import)"):
        launch(project, dict(os.environ), timeout=30)


def _job_registration() -> Registration:
    """A SwarmJob as a program registers it (the pickled provider and all)."""
    from components.docker.spec import ContainerSpec, Upload
    from components.swarm.job import swarm_job
    from components.swarm.placement import swarm_placement

    def program() -> None:
        spec = ContainerSpec(service="roles", image="registry.example/vos/pg@sha256:" + "0" * 64,
                             command=["true"], user="999:999", one_shot=True,
                             uploads=[Upload("/etc/vos/roles.sql", "select 1;", 999, "0400",
                                             secret=True)])  # fmt: skip
        placement = swarm_placement(spec, name_prefix="vos-plugin", stack="plugin",
                                    networks=["n1"], memory_mb=64, cpus=0.25,
                                    endpoint_mode="dnsrr")  # fmt: skip
        swarm_job("roles", spec, placement, None)  # type: ignore[arg-type]

    evaluation = evaluate("dev", program=program)
    return next(iter(evaluation.of_type(SWARM_JOB)))


def test_the_swarm_job_provider_answers_from_the_plugin(plugin: Plugin) -> None:
    """Unpickled in the plugin process (by reference to components/swarm/job_provider.py):
    its Check and Diff as the engine calls them; its create runs on the tier's real Swarm
    (tests/docker/test_swarm_jobs.py)."""
    registration = _job_registration()
    inputs = _fresh(registration)
    provider, urn = plugin.provider, registration.urn
    checked = provider.Check(proto.CheckRequest(urn=urn, olds=struct({}), news=struct(inputs)))
    assert list(checked.failures) == []
    template = unwrap(inputs["task_template"])
    # Named by a hash of everything it runs: a change is a new job service.
    assert plain(checked.inputs)["name"].startswith("vos-plugin-roles-")
    same = provider.Diff(
        proto.DiffRequest(id="job", urn=urn, olds=checked.inputs, news=checked.inputs)
    )
    assert same.changes == proto.DiffResponse.DIFF_NONE
    changed = inputs | {"task_template": template | {"RestartPolicy": {"Condition": "any"}}}
    diff = provider.Diff(
        proto.DiffRequest(id="job", urn=urn, olds=checked.inputs, news=struct(changed))
    )
    assert diff.changes == proto.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == ["task_template"]
    assert diff.deleteBeforeReplace is False
    # At preview the template is not known yet (its configs' ids): Check takes it as it is.
    unknown = inputs | {"task_template": rpc.UNKNOWN}
    previewed = provider.Check(proto.CheckRequest(urn=urn, olds=struct({}), news=struct(unknown)))
    assert list(previewed.failures) == []
    imageless = inputs | {"task_template": template | {"ContainerSpec": {"Args": ["true"]}}}
    refused = provider.Check(proto.CheckRequest(urn=urn, olds=struct({}), news=struct(imageless)))
    assert [f.property for f in refused.failures] == ["task_template"]
    nameless = provider.Check(
        proto.CheckRequest(urn=urn, olds=struct({}), news=struct(inputs | {"name": ""}))
    )
    assert [f.property for f in nameless.failures] == ["name"]
