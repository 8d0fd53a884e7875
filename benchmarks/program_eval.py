"""Benchmark: how the program's evaluation time grows with the number of agents.

For each agent count the dev stack is evaluated under the material mocks (update mode,
real keys and passwords) and compared with the Pulumi SDK's own floor: the same number of
bare resources registered under no-op mocks. Prints a table; run it with
`.venv/bin/python benchmarks/program_eval.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import pulumi

from infra.offline.runner import evaluate
from infra.offline.stack_files import StackConfig, read_stack_config, with_overrides


class _NoOpMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[Any, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[Any, Any]:
        return {}


class _Bare(pulumi.CustomResource):
    def __init__(self, name: str) -> None:
        super().__init__("bench:index:Bare", name, {"value": name})


def _floor(count: int) -> float:
    from pulumi.runtime.settings import ROOT
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    ROOT.set(None)
    pulumi.runtime.set_mocks(_NoOpMocks(), project="bench", stack="bench")
    start = time.perf_counter()
    _sync_await(run_pulumi_func(lambda: [_Bare(f"r{i}") for i in range(count)] and None))
    return time.perf_counter() - start


def _agents(n: int) -> StackConfig:
    agents = [
        {"name": f"agent{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
        for i in range(n)
    ]
    return with_overrides(read_stack_config("dev"), agents=agents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--agents", type=int, nargs="*", default=[1, 10, 100, 200])
    args = parser.parse_args()
    print(f"{'agents':>6} {'resources':>9} {'program s':>10} {'floor s':>8} {'ratio':>6}")
    for n in args.agents:
        config = _agents(n)
        ours, floors, count = [], [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            evaluation = evaluate("dev", config)
            ours.append(time.perf_counter() - start)
            count = len(evaluation.registrations)
            floors.append(_floor(count))
        program, floor = statistics.median(ours), statistics.median(floors)
        print(f"{n:>6} {count:>9} {program:>10.3f} {floor:>8.3f} {program / floor:>6.1f}")


if __name__ == "__main__":
    main()
