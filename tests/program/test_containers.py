"""Every container the program declares is hardened, and private keys are delivered with
strict modes and the image's owner."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.sync_await import _sync_await

from components.app.component import sidecar_name
from components.app.contract import APP_UID, App
from components.app.inputs import apps, readable_secrets
from components.docker.container import FILES_ROLE
from components.docker.engine_defaults import LOG_LABELS, log_options
from components.docker.networks import INHIBIT_IPV4
from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from components.loki.definition import DEFINITION as LOKI
from components.loki.files import STORE_NAME as LOKI_STORE
from components.registry import REGISTRY
from components.vault_agent.files import SECRETS_DIR
from tests.helpers import profile
from tools.cli.render import run_render
from tools.offline.mocks import unwrap
from tools.offline.rendered import CONTAINER, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides


def _labels(container: dict[str, Any]) -> dict[str, str]:
    return {x["label"]: x["value"] for x in container.get("labels") or []}


def _containers(ev: Evaluation, *, carriers: bool = False) -> list[dict[str, Any]]:
    """The service containers, or (carriers=True) their files carriers."""
    found = [unwrap(r.inputs) for r in ev.of_type(CONTAINER)]
    return [c for c in found if (_labels(c).get("vos.role") == FILES_ROLE) == carriers]


def test_every_container_is_hardened(stack_update: Evaluation) -> None:
    found = _containers(stack_update)
    platform = stack_update.result
    components = [*platform.services.values(), *platform.agents.values()]
    expected = {spec.service for c in components for spec in c.specs.values()}
    assert {c["hostname"] for c in found} == expected
    assert expected >= {c.definition.dns_name for c in platform.services.values()}
    assert expected >= {a.dns_name for a in platform.settings.agents}
    for c in found:
        name = c["hostname"]
        assert c["readOnly"] is True, name
        assert not c["logs"] and "containerLogs" not in c, name
        assert c["capabilities"] == {"adds": [], "drops": ["ALL"]}, name
        assert c["securityOpts"] == ["no-new-privileges:true"], name
        assert (
            isinstance(c["memory"], float) and c["memory"] > 0 and c["memorySwap"] == c["memory"]
        ), name
        assert float(str(c["cpus"])) > 0, name
        assert c["logOpts"] == log_options("10m", "3", LOG_LABELS), name
        nofile = platform.settings.limits.nofile
        assert c["ulimits"] == [{"name": "nofile", "soft": nofile, "hard": nofile}], name
        assert all(path.startswith(("/tmp", "/var/")) for path in c["tmpfs"]), name
        assert all("noexec" in opts and "nosuid" in opts for opts in c["tmpfs"].values()), name
        if c["mustRun"]:
            assert c["restart"] == "unless-stopped" and c["healthcheck"]["tests"][0] == "CMD", name
        else:
            assert c["restart"] == "no", name  # one-shot jobs
        assert not c.get("privileged") and not c.get("networkMode"), name


def test_files_reach_each_service_through_a_carrier_that_never_runs(
    stack_update: Evaluation,
) -> None:
    """The provider copies uploads to `/`, which Docker refuses for a read-only container:
    every upload goes to a carrier that is created, never started, and shares the volumes;
    the service mounts its config volume read-only and names its carrier in a label."""
    services = {c["name"]: c for c in _containers(stack_update)}
    name_of = {unwrap(r.inputs)["name"]: r.name for r in stack_update.of_type(CONTAINER)}
    carriers = {_labels(c)["vos.service"]: c for c in _containers(stack_update, carriers=True)}
    assert {c["hostname"] for c in services.values()} == set(carriers)
    ids = {r.name: r.id for r in stack_update.of_type(CONTAINER)}
    for name, service in services.items():
        carrier = carriers[service["hostname"]]
        assert not service.get("uploads"), name
        assert carrier["uploads"], name
        assert carrier["start"] is False and carrier["mustRun"] is False, name
        assert carrier["networkMode"] == "none" and not carrier.get("networksAdvanced"), name
        assert carrier["capabilities"] == {"drops": ["ALL"]}, name
        assert carrier["securityOpts"] == ["no-new-privileges:true"], name
        assert carrier["image"] == service["image"], name
        assert {v["volumeName"] for v in carrier["volumes"]} <= {
            v["volumeName"] for v in service["volumes"]
        }, name
        config = next(v for v in service["volumes"] if v["containerPath"] == "/etc/vos")
        assert config["readOnly"] is True, name
        # Its own data volume is writable; the app's view of its rendered secrets is not.
        others = [v for v in service["volumes"] if v is not config]
        for volume in others:
            sidecar = service["hostname"].endswith("-vault-agent")
            secrets_view = volume["containerPath"] == SECRETS_DIR and not sidecar
            assert bool(volume.get("readOnly")) is secrets_view, (name, volume)
        assert _labels(service)["vos.files"] == ids[f"{name_of[name]}-files"] != "", name


def test_only_what_the_settings_publish_is_published_never_an_app_and_only_sidecars_reach_vault(
    stack_update: Evaluation,
) -> None:
    prefix = f"vos-{stack_update.stack}"
    settings = stack_update.result.settings
    sidecars = {sidecar_name(app) for app in apps(settings)}
    rendered = containers(stack_update)
    assert sidecars and sidecars <= set(rendered)
    by_name = {d.dns_name: d for d in settings.catalogue}
    published = {
        settings.catalogue.get(key).dns_name: port
        for key, port in settings.network.published_ports.items()
        if settings.catalogue.get(key).dns_name in rendered
    }
    assert "edge" in published and not {a.dns_name for a in apps(settings)} & set(published)
    for service, c in rendered.items():
        networks = [n["name"] for n in c.networks]
        assert all(n["aliases"] == [service] for n in c.networks), service
        if service in published:
            assert c.ports == [
                {
                    "internal": float(by_name[service].tls_port),
                    "external": float(published[service]),
                    "ip": str(settings.network.bind_address),
                    "protocol": "tcp",
                }
            ], service
            assert networks == [f"{prefix}-backend", f"{prefix}-edge"], service
            continue
        assert c.ports == [], service
        if service in sidecars:
            assert networks == [f"{prefix}-vault"], service
        elif service == LOKI_STORE:
            assert networks == [f"{prefix}-logs"], service  # only its gate reaches it
        elif service == LOKI.dns_name:
            assert networks == [f"{prefix}-backend", f"{prefix}-logs"], service
        elif service == EGRESS_PROXY.dns_name:  # the apps' only way out
            assert networks == [f"{prefix}-backend", f"{prefix}-egress"], service
        else:
            assert networks == [f"{prefix}-backend"], service


def test_files_are_owned_by_the_image_user_and_secrets_have_strict_modes(dev: Evaluation) -> None:
    """Secret-ness as each upload declares it (Upload.secret), checked against the content:
    a file not declared secret holds no generated secret and no private key."""
    rendered = containers(dev)
    # Certificates travel in Vault's secret bundles beside their keys; they are public.
    generated = {v for v in dev.secret_values() if not v.startswith("-----BEGIN CERTIFICATE")}
    owners = [(c.definition.image_uid, c) for c in dev.result.services.values()]
    owners += [(APP_UID, agent) for agent in dev.result.agents.values()]
    for image_uid, component in owners:
        for spec in component.specs.values():
            # what runs long runs as its image's user; a job may run in another image (the
            # Weaviate roles job in an app image) as that image's user, owning its files
            uid = int(spec.user.split(":")[0])
            assert spec.user == f"{uid}:{uid}", spec.service
            if not spec.one_shot:
                # or the user of an image it borrows (Loki's gate: the edge's nginx)
                definition = getattr(component, "definition", None)
                borrowed = definition.borrows_image if definition else None
                allowed = {image_uid, *([REGISTRY.get(borrowed).image_uid] if borrowed else [])}
                assert uid in allowed, spec.service
            files = rendered[spec.service].files
            assert set(files) == {u.path for u in spec.uploads}, spec.service
            for upload in spec.uploads:
                file = files[upload.path]
                assert file.owner == file.group == str(uid), (spec.service, file.path)
                if upload.secret:
                    assert file.mode in {"0600", "0400"}, (spec.service, file.path)
                else:
                    assert file.mode == "0444", (spec.service, file.path)
                    assert "PRIVATE KEY" not in file.content, (spec.service, file.path)
                    leaked = [v for v in generated if v in file.content]
                    assert not leaked, (spec.service, file.path)


def test_images_are_the_configured_pinned_references(stack_update: Evaluation) -> None:
    for service, c in containers(stack_update).items():
        assert ":" in c.image and not c.image.endswith(":latest"), service
        if stack_update.stack == "prod":
            assert "@sha256:" in c.image, service


def test_render_writes_every_file_privately_with_a_redacted_manifest(
    dev: Evaluation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tools.cli.render.evaluate", lambda stack: dev)
    out = tmp_path / "rendered"
    message = run_render("dev", out)
    assert "real secret material" in message
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    rendered = containers(dev)
    for service, c in rendered.items():
        for file in c.files.values():
            path = out / service / file.path.lstrip("/")
            assert path.read_text() == file.content
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) == set(rendered)
    postgres = manifest["postgres"]
    assert postgres["image"] == "postgres:17.6-bookworm"
    assert postgres["command"] == ["postgres", "-c", "config_file=/etc/vos/postgresql.conf"]
    assert {
        "path": "/etc/vos/tls/server.key",
        "owner": "999",
        "group": "999",
        "mode": "0600",
    } in postgres["uploads"]
    text = (out / "manifest.json").read_text()
    assert not [s for s in dev.secret_values() if s in text]


def test_a_failed_role_job_fails_the_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Docker provider reports a one-shot container's exit code without failing on it;
    the program must turn a non-zero code into an error."""
    from components.docker.container import JobFailed
    from tools.offline import docker_outputs

    def exited(inputs: dict[str, object]) -> dict[str, object]:
        code = 3 if str(inputs.get("name", "")).endswith("postgres-roles") else 0
        return {"exitCode": code}

    monkeypatch.setitem(docker_outputs.COMPUTED, CONTAINER, exited)
    with pytest.raises(
        JobFailed,
        match=r"vos-dev-postgres-roles exited with code 3.*"
        r"pulumi up --replace 'urn:pulumi:dev::vos-infra::.*postgres-roles'",
    ):
        evaluate("dev")
    monkeypatch.setitem(docker_outputs.COMPUTED, CONTAINER, lambda inputs: {"exitCode": 0})
    platform = evaluate("dev").result
    assert _sync_await(platform.services["postgres"].role_job_exit_code.future()) == 0


def test_a_job_that_never_ran_fails_the_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """A create that failed before the job ran (an upload refused, the start failed) leaves
    the container in the state without an exit code, and the next `up` only continues it
    (an empty update): the program must not take that for success."""
    from components.docker.container import JobFailed
    from tools.offline import docker_outputs

    def never_ran(inputs: dict[str, object]) -> dict[str, object]:
        ran = not str(inputs.get("name", "")).endswith("weaviate-roles")
        return {"exitCode": 0 if ran and inputs.get("attach") else None}

    monkeypatch.setitem(docker_outputs.COMPUTED, CONTAINER, never_ran)
    with pytest.raises(JobFailed, match=r"vos-dev-weaviate-roles never ran.*--replace"):
        evaluate("dev")


def test_services_start_only_after_their_secrets_are_in_vault(dev: Evaluation) -> None:
    """The platform's services after every Vault resource, through one marker that depends
    on all of them; an agent after its own (its policy, its AppRole and what its sidecar
    reads), so N agents do not make O(N^2) dependencies."""
    vault_types = {
        "pulumi-python:dynamic/vault:KvSecret",
        "pulumi-python:dynamic/vault:Policy",
        "pulumi-python:dynamic/vault:AppRole",
    }
    vault = {r.urn for r in dev.registrations if r.type in vault_types}
    secrets = {r.urn for r in dev.of_type("pulumi-python:dynamic/vault:KvSecret")}
    assert secrets
    marker = dev.named("vault-written")
    assert marker.custom and vault <= set(marker.options["dependencies"])
    settings = dev.result.settings
    agents = {a.dns_name: App(a.dns_name, "agent", a.name) for a in settings.agents}
    assert agents
    agents_vault = {
        r.urn
        for r in dev.registrations
        if r.urn in vault and any(r.name.startswith(f"vault-{a}-") for a in agents)
    }
    assert agents_vault
    for registration in dev.of_type(CONTAINER):
        depends = set(registration.options["dependencies"])
        owner = next((a for a in agents if registration.name.startswith(f"{a}-")), None)
        if owner is None:
            assert marker.urn in depends, registration.name
            # the agents' Vault resources through the marker, not an edge to each
            assert not depends & agents_vault, registration.name
            continue
        read = {dev.named(f"vault-{s.owner}-{s.name}").urn
                for s in readable_secrets(settings, agents[owner])}  # fmt: skip
        access = {dev.named(f"vault-{owner}-{kind}").urn for kind in ("policy", "approle")}
        assert read | access <= depends, registration.name
        assert depends & secrets == read, registration.name
        assert marker.urn not in depends, registration.name


def test_no_resource_depends_on_every_agent() -> None:
    """Dependencies grow linearly with the agents: only what holds every agent's
    credentials (RabbitMQ's users, PostgreSQL's roles, Weaviate's keys, ...) and the marker
    depend on per-agent resources; the rest of the platform does not."""
    counts = {}
    for agents in (2, 8):
        listed = [{"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
                  for i in range(agents)]  # fmt: skip
        ev = evaluate("dev", with_overrides(read_stack_config("dev"), agents=listed))
        counts[agents] = {r.name: len(r.options["dependencies"]) for r in ev.registrations}
    growing = {n for n, c in counts[2].items() if counts[8].get(n, c) > c}
    total = {k: sum(v.values()) for k, v in counts.items()}
    per_agent = (total[8] - total[2]) / 6
    # each added agent adds its own resources' dependencies and a bounded number elsewhere
    assert per_agent < 400, per_agent
    holders = {n for n in growing if not n.startswith("vault-written")}
    assert len(holders) <= 10, sorted(holders)


@pytest.mark.parametrize(
    ("key", "port"), [("postgres", 5432), ("rabbitmq", 5671), ("weaviate", 8443)]
)
def test_a_published_backend_exposes_only_its_tls_port_on_the_bind_address(
    key: str, port: int
) -> None:
    network = profile("dev")["network"] | {"publishedPorts": {key: 20000 + port}}
    ev = evaluate("dev", with_overrides(read_stack_config("dev"), network=network))
    service = key  # catalogue key and DNS name coincide for these three
    rendered = containers(ev)[service]
    assert rendered.ports == [
        {"internal": port, "external": 20000 + port, "ip": "127.0.0.1", "protocol": "tcp"}
    ]
    # an internal-only network would publish nothing: the edge network is joined too
    assert {n["name"] for n in rendered.networks} == {"vos-dev-backend", "vos-dev-edge"}


def test_the_backend_network_is_internal_and_has_no_address_on_the_host(
    stack_update: Evaluation,
) -> None:
    """`internal` alone leaves the host reachable (tests/docker proves both on dockerd)."""
    backend = unwrap(stack_update.named("networks-backend").inputs)
    assert backend["internal"] is True
    assert backend["options"] == {INHIBIT_IPV4: "true"}
