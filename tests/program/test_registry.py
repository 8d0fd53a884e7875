"""The registry is the one list of services: each definition is consistent, each service
with containers is assembled from it and is covered by the suite without editing it."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

from components.registry import REGISTRY
from infra.assembly import component_class
from stacks.services import Catalogue, Credential, ServiceDefinition
from tests.docker.images import NO_STAND_IN
from tests.report_gc import parse_python
from tools.offline.runner import Evaluation

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
WITH_CONTAINERS = [d for d in REGISTRY if d.component]


def package(definition: ServiceDefinition) -> str:
    """components.<package>.component:Class -> <package>"""
    assert definition.component is not None
    return definition.component.split(".")[1]


def proves(module: Path) -> tuple[str, ...]:
    """A test module that proves several services on real servers together names their
    packages in a module-level `PROVES` tuple."""
    for node in parse_python(module.read_text(), str(module)).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PROVES" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    return ()


@pytest.mark.parametrize("definition", WITH_CONTAINERS, ids=lambda d: d.key)
def test_each_component_is_the_one_built_for_its_definition(definition: ServiceDefinition) -> None:
    component = component_class(definition)
    assert re.fullmatch(r"vos:[a-z]+:[A-Z][A-Za-z]+", component.resource_type)
    assert definition.image_uid is not None
    assert set(definition.restarts) <= set(REGISTRY.rotation_classes)


@pytest.mark.parametrize("definition", WITH_CONTAINERS, ids=lambda d: d.key)
def test_each_service_with_containers_is_proven_on_a_real_server_or_by_rules(
    definition: ServiceDefinition,
) -> None:
    name = package(definition)
    proofs = [TESTS / "integration" / f"test_{name}.py", TESTS / "program" / f"test_{name}.py"]
    modules = [*(TESTS / "integration").glob("test_*.py"), *(TESTS / "program").glob("test_*.py")]
    shared = [p for p in modules if name in proves(p)]
    assert any(p.is_file() for p in proofs) or shared, (
        f"no test module for {definition.key}: {proofs}, and no module's PROVES names {name}"
    )
    # An app (a consumer of credentials) runs the reference apps' image on the tier; a
    # service built from the project's own source (ServiceDefinition.source) runs that.
    stand_in = TESTS / "docker" / "images" / definition.dns_name / "Dockerfile"
    own = definition.source is not None and (ROOT / definition.source / "Dockerfile").is_file()
    assert stand_in.is_file() or definition.consumer or own or definition.key in NO_STAND_IN, (
        f"the Docker tier has no stand-in image for {definition.key} and no reason in "
        "tests/docker/images.py NO_STAND_IN"
    )


def test_each_stack_assembles_every_enabled_service_with_containers(
    dev: Evaluation, prod: Evaluation
) -> None:
    for evaluation in (dev, prod):
        settings = evaluation.result.settings
        enabled = {d.key for d in WITH_CONTAINERS if settings.is_enabled(d.key)}
        assert set(evaluation.result.services) == enabled
    # Between them, every service with containers is assembled in some profile.
    assert set(dev.result.services) | set(prod.result.services) == {d.key for d in WITH_CONTAINERS}


def test_an_inconsistent_catalogue_is_refused() -> None:
    postgres = REGISTRY.get("postgres")
    with pytest.raises(ValueError, match="key used twice"):
        Catalogue([postgres, postgres])
    with pytest.raises(ValueError, match="requires unknown services"):
        Catalogue([REGISTRY.get("alloy")])
    # A client identity named like a service would issue a second pki-<name>-cert.
    exporter = REGISTRY.get("postgresExporter")
    (monitor,) = exporter.client_certificates
    clash = replace(exporter, client_certificates=(replace(monitor, name="postgres"),))
    with pytest.raises(ValueError, match=r"certificate names used twice: \['postgres'\]"):
        Catalogue([postgres, REGISTRY.get("prometheus"), clash])
    # A rollover partner must roll over a credential of its own group and class.
    gateway = REGISTRY.get("apiGateway")
    stray = Credential("api-key-older", "apiGateway", 48, "p", rollover_of="api-key")
    others = [d for d in REGISTRY if d.key != "apiGateway"]
    with pytest.raises(ValueError, match="rolls over 'api-key'"):
        Catalogue([*others, replace(gateway, credentials=(*gateway.credentials, stray))])
