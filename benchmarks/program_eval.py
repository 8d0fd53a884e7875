"""Benchmark: how the program's evaluation grows with the number of agents, beside two floors.

For each agent count (1, 10, 50, 100, 200) and each repetition, three measurements, each in
a fresh Python process (nothing of another evaluation in memory, runtime new), each after a
warm-up evaluation in that process:
- program: the dev stack with N agents under the material mocks, with the garbage
  collector as the engine's program process has it (__main__.py: cyclic GC off);
- payload floor: the same resources (types, names, inputs, secret markers, outputs) replayed
  as bare resources under mocks that return the recorded outputs: no program logic;
- bare floor: as many resources with one property each, under no-op mocks.
Prints min/median/max seconds, the program/payload ratio per repetition (median, max), and
the exponent k of time ~ resources^k fitted over the agent counts.
Run: `.venv/bin/python benchmarks/program_eval.py [--repeat N]`. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

AGENTS = (1, 10, 50, 100, 200)
ROOT = Path(__file__).resolve().parents[1]


def _config(agents: int) -> Any:
    from infra.offline.stack_files import read_stack_config, with_overrides

    listed = [{"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
              for i in range(agents)]  # fmt: skip
    # Vault's CA as the dev Vault would have written it, so the run is what `up` evaluates.
    return with_overrides(read_stack_config("dev"), agents=listed, vault={"caCertFile": _ca()})


def _ca() -> str:
    path = Path(tempfile.gettempdir()) / "vos-bench-vault-ca.pem"
    if not path.exists():
        from infra.offline import material

        key = material.private_key({"algorithm": "ECDSA", "ecdsaCurve": "P256"})
        cert = material.self_signed_cert(
            {
                "privateKeyPem": key["privateKeyPem"],
                "subject": {"commonName": "bench Vault CA"},
                "validityPeriodHours": 24,
                "isCaCertificate": True,
                "allowedUses": ["cert_signing"],
            }
        )
        path.write_text(str(cert["certPem"]))
    return str(path)


def _program(agents: int) -> tuple[float, int]:
    from infra.offline.runner import evaluate

    evaluate("dev", _config(1))  # warm-up: imports, caches
    gc.collect()
    started = time.perf_counter()
    evaluation = evaluate("dev", _config(agents))
    return time.perf_counter() - started, len(evaluation.registrations)


def _capture(agents: int, path: Path) -> None:
    from infra.offline.runner import evaluate

    evaluation = evaluate("dev", _config(agents))
    payload = [(r.type, r.name, r.custom, r.inputs, r.outputs) for r in evaluation.registrations]
    path.write_bytes(pickle.dumps(payload))


def _replay(payload: list[tuple[str, str, bool, dict[str, Any], dict[str, Any]]] | int) -> float:
    """Register the payload (or N one-property resources) under recorded-output mocks."""
    import pulumi
    from pulumi.runtime import rpc
    from pulumi.runtime.settings import ROOT as ROOT_RESOURCE
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.offline.mocks import unwrap

    items = payload if isinstance(payload, list) else [
        ("bench:index:Bare", f"r{i}", True, {"value": f"r{i}"}, {"value": f"r{i}"})
        for i in range(payload)
    ]  # fmt: skip
    outputs = {(t, n): unwrap(o) for t, n, _, _, o in items}

    class Recorded(pulumi.runtime.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            return f"{args.name}-id", outputs.get((args.typ, args.name), {})

        def call(self, args: Any) -> dict[str, Any]:
            return {}

    def value(v: Any) -> Any:
        return pulumi.Output.secret(unwrap(v)) if rpc.is_rpc_secret(v) else unwrap(v)

    def body() -> None:
        for type_, name, custom, inputs, _ in items:
            props = {k: value(v) for k, v in inputs.items() if not k.startswith("__")}
            if custom:
                pulumi.CustomResource(type_, name, props)
            else:
                pulumi.ComponentResource(type_, name, props)

    ROOT_RESOURCE.set(None)
    pulumi.runtime.set_mocks(Recorded(), project="bench", stack="dev", preview=False)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    gc.disable()  # as the program's evaluation runs
    started = time.perf_counter()
    _sync_await(run_pulumi_func(body))
    took = time.perf_counter() - started
    gc.enable()
    return took


def _child(kind: str, agents: int, payload_file: str | None) -> None:
    if kind == "program":
        took, count = _program(agents)
    else:
        _replay(10)  # warm-up
        gc.collect()
        payload: Any = pickle.loads(Path(payload_file).read_bytes())  # noqa: S301 (ours)
        count = len(payload)
        took = _replay(payload if kind == "payload" else count)
    print(json.dumps({"seconds": took, "resources": count}))


def _measure(kind: str, agents: int, payload_file: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(agents), str(payload_file)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "AGENTS", "PAYLOAD"))
    args = parser.parse_args()
    if args.child:
        kind, agents, payload = args.child
        _child(kind, int(agents), payload)
        return
    header = (
        f"each figure: {args.repeat} fresh processes, each after a warm-up; cyclic GC off "
        "during evaluation (as __main__.py runs the program); seconds min/median/max"
    )
    print(header)
    print(f"{'agents':>6}{'resources':>10}{'program':>24}{'payload floor':>24}"
          f"{'bare floor':>24}{'prog/payload med (max)':>24}{'ms/res':>8}")  # fmt: skip
    sizes, medians = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for agents in AGENTS:
            payload_file = Path(tmp) / f"payload-{agents}.pickle"
            _capture(agents, payload_file)
            kinds = ("program", "payload", "bare")
            runs = [
                tuple(_measure(kind, agents, payload_file) for kind in kinds)
                for _ in range(args.repeat)
            ]
            count = int(runs[0][0]["resources"])
            cols = [sorted(r[i]["seconds"] for r in runs) for i in range(3)]
            ratios = sorted(r[0]["seconds"] / r[1]["seconds"] for r in runs)
            med = statistics.median(cols[0])

            def span(values: list[float]) -> str:
                return f"{values[0]:.2f}/{statistics.median(values):.2f}/{values[-1]:.2f}"

            print(f"{agents:>6}{count:>10}{span(cols[0]):>24}{span(cols[1]):>24}"
                  f"{span(cols[2]):>24}{f'{statistics.median(ratios):.2f} ({ratios[-1]:.2f})':>24}"
                  f"{1000 * med / count:>8.2f}")  # fmt: skip
            sizes.append(count)
            medians.append(med)
    print(f"fitted exponent (time ~ resources^k, medians, {AGENTS[0]}-{AGENTS[-1]} agents): "
          f"k = {_slope(sizes, medians):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
