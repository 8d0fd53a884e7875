"""Benchmark: the policy pack over gRPC, as the CLI drives it.

For the dev stack, the prod stack and a dev stack with 200 agents, every resource is sent
through Analyze and the stack through AnalyzeStack, with the environment's policy config;
beside it, in the same run, the same resources through an *empty* pack (one policy that
checks nothing: the floor of the SDK and gRPC) and through a pack of as many no-op policies
as ours (the SDK converts and proxies a resource's properties once per policy, so this is
what the rules themselves add to). Reports resources per second (min, median, max of the
repetitions) and the ratios per repetition, then times
`vos-infra check --stack prod` end to end (a fresh process: evaluation, pack start, check).
Run: `.venv/bin/python benchmarks/policy_pack.py [--repeat N]`. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config, with_overrides
from tools.policy.analyzer import Analyzer
from tools.policy.config import config_file, load
from tools.policy.resources import PolicyInput, from_evaluation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "policies"))  # the pack's own modules, as the pack imports them
from vos_policies import RULES  # noqa: E402

NO_OP_PACK = """
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, PolicyPack

PolicyPack(name="floor", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name=f"nothing-{{i}}", description="Checks nothing.",
                             validate=lambda args, report: None) for i in range({count})])
"""


def _no_op_pack(folder: Path, count: int) -> Path:
    """A pack of `count` policies that check nothing: with 1, the empty pack's floor; with
    as many as ours, the SDK's own cost per policy (it converts and proxies a resource's
    properties once per policy)."""
    folder.mkdir()
    (folder / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (folder / "__main__.py").write_text(NO_OP_PACK.format(count=count))
    return folder


def _run(pack: Analyzer, resources: list[PolicyInput]) -> float:
    started = time.perf_counter()
    for resource in resources:
        pack.analyze(resource)
    pack.analyze_stack(resources)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    agents = [{"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
              for i in range(200)]  # fmt: skip
    stacks = {
        "dev": from_evaluation(evaluate("dev")),
        "prod": from_evaluation(evaluate("prod")),
        "dev, 200 agents": from_evaluation(
            evaluate("dev", with_overrides(read_stack_config("dev"), agents=agents))
        ),
    }
    names = [rule.name for rule in RULES]
    print(f"{len(RULES)} policies; {args.repeat} repetitions after one warm-up run; floors in "
          "the same run: an empty pack (one no-op policy) and as many no-op policies as ours; "
          "ratios per repetition, medians")  # fmt: skip
    print(f"{'stack':<18}{'resources':>10}{'pack res/s (min/med/max)':>28}"
          f"{'empty pack res/s':>18}{'pack/empty':>12}"
          f"{f'{len(RULES)} no-op res/s':>18}{'pack/no-op':>12}")  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    with (
        Analyzer() as pack,
        Analyzer(_no_op_pack(tmp / "one", 1)) as floor,
        Analyzer(_no_op_pack(tmp / "many", len(RULES))) as no_op,
    ):
        floor.configure({"nothing-0": "mandatory"}, {})
        no_op.configure({f"nothing-{i}": "mandatory" for i in range(len(RULES))}, {})
        for label, resources in stacks.items():
            environment = "prod" if label == "prod" else "dev"
            settings = load(config_file(environment), names)
            pack.configure(settings.levels, settings.properties)
            for analyzer in (pack, floor, no_op):  # warm-up
                _run(analyzer, resources)
            runs = [
                (_run(pack, resources), _run(floor, resources), _run(no_op, resources))
                for _ in range(args.repeat)
            ]
            count = len(resources)
            rates = sorted(count / p for p, _, _ in runs)
            med = statistics.median
            print(f"{label:<18}{count:>10}"
                  f"{f'{rates[0]:.0f} / {med(rates):.0f} / {rates[-1]:.0f}':>28}"
                  f"{med(count / f for _, f, _ in runs):>18.0f}"
                  f"{med(p / f for p, f, _ in runs):>11.2f}x"
                  f"{med(count / n for _, _, n in runs):>18.0f}"
                  f"{med(p / n for p, _, n in runs):>11.2f}x")  # fmt: skip
    shutil.rmtree(tmp)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tools.cli.main", "check", "--stack", "prod"],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    print(f"vos-infra check --stack prod, end to end: min {min(times):.2f} s, "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s (3 runs)")  # fmt: skip


if __name__ == "__main__":
    main()
