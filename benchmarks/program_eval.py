"""Benchmark: how the program's evaluation grows with the number of agents, beside two floors.

For each agent count (1, 10, 50, 100, 200) the payload is captured once (payload_replay.py);
then, for each repetition, four measurements, each in a fresh Python process (nothing of
another evaluation in memory, the runtime new), each after a warm-up evaluation of the
1-agent payload of its kind, with the cyclic garbage collector off as in the engine's
program process (__main__.py), and every registration answered by the same monitor:
- program: the program for the dev stack with N agents, its registrations answered with
  the recorded ids and outputs;
- payload floor: the same registrations replayed with no program logic (same resource and
  properties classes, inputs, secret markers, parents, dependencies, options, component
  outputs), answered the same way;
- bare floor: as many resources with one property each;
- material: the program under the material mocks (keys, certificates, passwords generated
  as the providers would), what `vos-infra plan` and the tests pay; for information.
Prints min/median/max seconds, the program/payload ratio per repetition (median, max) and
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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fresh_process import measure

AGENTS = (1, 10, 50, 100, 200)


def _config(agents: int) -> Any:
    from tools.offline.stack_files import read_stack_config, with_overrides

    listed = [{"name": f"a{i}", "image": "vos/agent:1.0.0", "memoryMb": 256, "cpus": 0.25}
              for i in range(agents)]  # fmt: skip
    # Vault's CA as the dev Vault would have written it, so the run is what `up` evaluates.
    return with_overrides(read_stack_config("dev"), agents=listed, vault={"caCertFile": _ca()})


def _ca() -> str:
    path = Path(tempfile.gettempdir()) / "vos-bench-vault-ca.pem"
    if not path.exists():
        from tools.offline import material

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


KINDS = ("program", "payload", "bare", "material")


def _capture(agents: int, path: Path) -> None:
    from payload_replay import capture

    path.write_bytes(pickle.dumps(capture(_config(agents))))


def _evaluate(kind: str, agents: int, items: list[Any]) -> tuple[float, int]:
    from payload_replay import RecordedMocks, bare_body, replay_body

    from tools.offline.runner import evaluate

    config = _config(agents)
    mocks = RecordedMocks(items)
    floors: dict[str, Callable[[list[Any]], Callable[[], None]]] = {
        "payload": replay_body,
        "bare": lambda found: bare_body(len(found)),
    }
    body = floors[kind](items) if kind in floors else None  # built before the clock
    gc.collect()
    started = time.perf_counter()
    if body is not None:
        evaluation = evaluate("dev", config, mocks=mocks, program=body)
    elif kind == "program":
        evaluation = evaluate("dev", config, mocks=mocks)
    else:
        evaluation = evaluate("dev", config)
    return time.perf_counter() - started, len(evaluation.registrations)


def _child(kind: str, agents: int, folder: str) -> None:
    # Off for the whole process, as the engine's program process runs (__main__.py); with
    # it off `evaluate` does not turn it on afterwards.
    gc.disable()
    # The program installs the SDK's faster source-position capture (infra/program.py);
    # the floors get it too, so the ratios compare like with like.
    from infra.source_positions import install

    install()
    warm_up: Any = pickle.loads((Path(folder) / "payload-1.pickle").read_bytes())  # noqa: S301 (ours)
    _evaluate(kind, 1, warm_up)
    items: Any = pickle.loads((Path(folder) / f"payload-{agents}.pickle").read_bytes())  # noqa: S301
    took, count = _evaluate(kind, agents, items)
    print(json.dumps({"seconds": took, "resources": count}))


def _measure(kind: str, agents: int, folder: Path) -> dict[str, float]:
    return measure(__file__, kind, str(agents), str(folder))


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def _span(values: list[float]) -> str:
    return f"{values[0]:.2f}/{statistics.median(values):.2f}/{values[-1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "AGENTS", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        kind, agents, folder = args.child
        _child(kind, int(agents), folder)
        return
    print(f"each figure: {args.repeat} fresh processes, each after a warm-up; cyclic GC off "
          "(as __main__.py runs the program); seconds min/median/max")  # fmt: skip
    print(f"{'agents':>6}{'resources':>10}{'program':>18}{'payload floor':>18}"
          f"{'bare floor':>18}{'prog/payload':>16}{'material':>18}{'ms/res':>8}")  # fmt: skip
    sizes: list[float] = []
    medians: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for agents in AGENTS:
            _capture(agents, folder / f"payload-{agents}.pickle")
        for agents in AGENTS:
            # Interleaved, so a change in the machine's load touches every kind alike.
            runs = [
                {kind: _measure(kind, agents, folder) for kind in KINDS} for _ in range(args.repeat)
            ]
            count = int(runs[0]["program"]["resources"])
            cols = {kind: sorted(r[kind]["seconds"] for r in runs) for kind in KINDS}
            ratios = sorted(r["program"]["seconds"] / r["payload"]["seconds"] for r in runs)
            ratio = f"{statistics.median(ratios):.2f} ({ratios[-1]:.2f})"
            program = statistics.median(cols["program"])
            print(f"{agents:>6}{count:>10}{_span(cols['program']):>18}{_span(cols['payload']):>18}"
                  f"{_span(cols['bare']):>18}{ratio:>16}{_span(cols['material']):>18}"
                  f"{1000 * program / count:>8.2f}")  # fmt: skip
            sizes.append(count)
            for kind in KINDS:
                medians[kind].append(statistics.median(cols[kind]))
    span = f"{AGENTS[0]}-{AGENTS[-1]} agents"
    for kind in ("program", "payload", "material"):
        print(f"fitted exponent, {kind} (time ~ resources^k, medians, {span}): "
              f"k = {_slope(sizes, medians[kind]):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
