"""How a stack's config lands on its profile: maps merge, lists replace, a null removes, and
of `image` and `build` the stack's choice replaces the profile's (the dev profile builds the
reference apps; a VOS team names its own image)."""

from __future__ import annotations

from components.registry import REGISTRY
from stacks import load_settings
from stacks.images import LOCAL_REPOSITORY
from stacks.loader import deep_merge
from tests.helpers import stack_overrides


def test_a_stack_image_replaces_the_profiles_build_and_the_other_way_round() -> None:
    profile = {"apiGateway": {"build": {"context": "apps"}, "memoryMb": 512}}
    merged = deep_merge(profile, {"apiGateway": {"image": "vos/api-gateway:2.0.0"}})
    assert merged == {"apiGateway": {"image": "vos/api-gateway:2.0.0", "memoryMb": 512}}
    back = deep_merge(merged, {"apiGateway": {"build": {"context": "src/gateway"}}})
    assert back == {"apiGateway": {"build": {"context": "src/gateway"}, "memoryMb": 512}}
    # Both named in one place is still both (the rule reports it, with its key).
    both = deep_merge(profile, {"apiGateway": {"image": "x:1", "build": {"context": "y"}}})
    assert both["apiGateway"]["image"] == "x:1" and both["apiGateway"]["build"] == {"context": "y"}


def test_dev_builds_the_reference_apps_unless_the_stack_names_an_image() -> None:
    settings = load_settings("dev", stack_overrides("dev"), REGISTRY)
    gateway = settings.service("apiGateway")
    assert gateway.image is None and gateway.build and gateway.build.context == "apps"
    assert all(a.build and a.build.context == "apps" for a in settings.agents)
    assert gateway.image_reference.startswith(f"{LOCAL_REPOSITORY}/apps:")
    own = stack_overrides("dev") | {"services": {"apiGateway": {"image": "vos/api-gateway:2.0.0"}}}
    mine = load_settings("dev", own, REGISTRY).service("apiGateway")
    assert mine.image_reference == "vos/api-gateway:2.0.0" and mine.build is None
