"""The program's source-position capture sends the engine exactly what the SDK's own would.

`infra.source_positions` replaces the SDK's `_get_stack_trace` in the program process. These
tests call both at the same moment for every resource of whole evaluations and compare the
StackTrace messages the engine would receive; they pin the SDK source the replacement was
checked against, and prove an SDK that changed keeps its own function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

from infra import source_positions
from tests.helpers import config_with
from tools.offline.runner import evaluate

Pairs = list[tuple[source_pb2.StackTrace, source_pb2.StackTrace]]


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Pairs:
    """Every capture made while the program registers: (ours, the SDK's)."""
    pairs: Pairs = []

    def both() -> source_pb2.StackTrace:
        ours = source_positions.stack_trace()
        sdk = source_positions._SDK_STACK_TRACE()
        pairs.append((ours, sdk))
        return sdk

    monkeypatch.setattr(source_positions, "install", lambda: True)
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", both)
    return pairs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_resource_of_a_stack_gets_the_sdks_stack_trace(compared: Pairs, stack: str) -> None:
    evaluation = evaluate(stack)
    # every resource, and the stack itself (which the recording monitor leaves out)
    assert len(compared) == len(evaluation.registrations) + 1
    for ours, sdk in compared:
        assert ours == sdk
    # Not vacuous: the positions point into the program's own modules.
    uris = {f.pc.uri for _, sdk in compared for f in sdk.frames if f.HasField("pc")}
    assert any(uri.endswith("/components/docker/container.py") for uri in uris)
    assert any(uri.endswith("/infra/assembly.py") for uri in uris)


def test_agents_too(compared: Pairs) -> None:
    agents = [
        {"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
        for i in range(3)
    ]
    evaluate("dev", config_with("dev", agents=agents))
    assert compared
    assert all(ours == sdk for ours, sdk in compared)


def _chain(capture: Callable[[], source_pb2.StackTrace], depth: int) -> source_pb2.StackTrace:
    """`depth` nested `__init__` frames (as Resource, CustomResource, a concrete class),
    defined in a file with a relative name, which has no file:// URI."""
    code = compile(
        "class Level:\n"
        "    def __init__(self, depth, capture, out):\n"
        "        if depth:\n"
        "            Level(depth - 1, capture, out)\n"
        "        else:\n"
        "            out.append(capture())\n",
        "relative/levels.py",
        "exec",
    )
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 (our own text)
    out: list[source_pb2.StackTrace] = []
    namespace["Level"](depth - 1, capture, out)
    return out[0]


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4, 6])
def test_the_sdks_rule_at_any_depth_and_for_files_without_uri(depth: int) -> None:
    if depth == 0:
        assert source_positions.stack_trace() == source_positions._SDK_STACK_TRACE()
        return
    ours = _chain(source_positions.stack_trace, depth)
    sdk = _chain(source_positions._SDK_STACK_TRACE, depth)
    # Frames outside the third __init__ differ by the call site only (one line apart).
    assert len(ours.frames) == len(sdk.frames)
    if depth < 3:
        assert len(sdk.frames) == 0
    else:
        assert len(sdk.frames) > 0
        no_uri = [i for i, f in enumerate(sdk.frames) if not f.HasField("pc")]
        assert no_uri == [i for i, f in enumerate(ours.frames) if not f.HasField("pc")]
        # depth 4 and more: the innermost kept frames are Level.__init__ in the relative file
        if depth > 3:
            assert 0 in no_uri
        same = [
            (a, b)
            for a, b in zip(ours.frames, sdk.frames, strict=True)
            if not b.pc.uri.endswith("test_source_positions.py")
        ]
        assert all(a == b for a, b in same)


def test_pins_the_sdk_source_it_reproduces() -> None:
    assert source_positions.sdk_source_hashes() == source_positions.CHECKED_SDK_SOURCE, (
        "the SDK's _get_stack_trace or _get_source_position_for_frame changed: compare "
        "infra/source_positions.py with it, run these tests, then update CHECKED_SDK_SOURCE"
    )


def test_installs_only_over_the_sdk_it_was_checked_against(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", source_positions._SDK_STACK_TRACE)
    changed = dict(source_positions.CHECKED_SDK_SOURCE, _get_stack_trace="0" * 64)
    monkeypatch.setattr(source_positions, "CHECKED_SDK_SOURCE", changed)
    assert source_positions.install() is False
    assert sdk_resource._get_stack_trace is source_positions._SDK_STACK_TRACE
    monkeypatch.undo()
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", source_positions._SDK_STACK_TRACE)
    assert source_positions.install() is True
    assert sdk_resource._get_stack_trace is source_positions.stack_trace


def test_the_program_installs_it() -> None:
    evaluate("dev")
    assert sdk_resource._get_stack_trace is source_positions.stack_trace
