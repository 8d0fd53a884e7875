"""The evaluation benchmark's payload floor replays exactly what the program registers.

benchmarks/program_eval.py divides the program's time by the time of registering its
payload with no program logic; the ratio means something only if that replay hands the
engine the same registrations. Here the program and the replay run under the same
recorded-output mocks and every registration is compared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from payload_replay import RecordedMocks, bare_body, capture, replay_body


def _signature(registration: object) -> tuple[object, ...]:
    r = registration
    o = r.options  # type: ignore[attr-defined]
    return (
        r.type, r.name, r.custom, r.parent, r.inputs,  # type: ignore[attr-defined]
        sorted(o["dependencies"]), o["additionalSecretOutputs"], o["deleteBeforeReplace"],
        o["retainOnDelete"], o["replaceOnChanges"], o["ignoreChanges"], o["protect"],
        o["replacementTrigger"],
    )  # fmt: skip


@pytest.mark.parametrize("agents", [0, 2])
def test_the_replay_registers_what_the_program_does(agents: int) -> None:
    listed = [{"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
              for i in range(agents)]  # fmt: skip
    config = with_overrides(read_stack_config("dev"), agents=listed)
    items = capture(config)
    program = evaluate("dev", config, mocks=RecordedMocks(items))
    replay = evaluate("dev", config, mocks=RecordedMocks(items), program=replay_body(items))
    # (registrations arrive in whatever order their inputs resolve: compared by URN)
    replayed = {r.urn: _signature(r) for r in replay.registrations}
    assert len(replayed) == len(replay.registrations) == len(program.registrations)
    assert replayed == {r.urn: _signature(r) for r in program.registrations}
    # what both got back is what the material mocks generated, secrets still secret
    assert {r.urn: r.outputs for r in program.registrations} == {i.urn: i.outputs for i in items}
    assert any(r.options["dependencies"] for r in replay.registrations)
    assert any(r.parent for r in replay.registrations)


def test_the_bare_floor_registers_as_many_resources() -> None:
    items = capture(read_stack_config("dev"))
    bare = evaluate("dev", mocks=RecordedMocks(items), program=bare_body(len(items)))
    assert len(bare.registrations) == len(items)
    assert {r.type for r in bare.registrations} == {"bench:index:Bare"}
