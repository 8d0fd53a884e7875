"""Benchmark: an RSA-4096 dev evaluation under the material mocks, beside its key floor.

With `tls.keyAlgorithm: RSA-4096` every identity gets a new 4096-bit key, as the tls
provider would make it. Generating those keys is work no evaluation can skip; this prints,
per repetition and each in a fresh process after a warm-up:
- evaluation: the dev stack with RSA-4096 under the material mocks (keys, CSRs, CA
  signatures, passwords), cyclic GC off as in the program process;
- key floor: the same number of RSA-4096 keys generated alone, on as many threads as the
  SDK's default executor that runs the mocks (asyncio: min(32, cores + 4));
- ECDSA evaluation: the same stack with ECDSA P-256 (its default), for reference.
min/median/max seconds and the evaluation / key-floor ratio per repetition.
Run: `.venv/bin/python benchmarks/rsa_material.py [--repeat N]`. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from fresh_process import measure

KEY_TYPE = "tls:index/privateKey:PrivateKey"


def _evaluate(algorithm: str) -> tuple[float, int]:
    from tools.offline.runner import evaluate
    from tools.offline.stack_files import read_stack_config, with_overrides

    evaluate("dev")  # warm-up: imports, caches
    config = with_overrides(read_stack_config("dev"), tls={"keyAlgorithm": algorithm})
    gc.collect()
    started = time.perf_counter()
    evaluation = evaluate("dev", config)
    took = time.perf_counter() - started
    return took, len(evaluation.of_type(KEY_TYPE))


def _key_floor(count: int) -> float:
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa.generate_private_key(public_exponent=65537, key_size=2048)  # warm-up
    workers = min(32, (os.cpu_count() or 1) + 4)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: rsa.generate_private_key(65537, 4096), range(count)))
    return time.perf_counter() - started


def _child(kind: str, count: int) -> None:
    gc.disable()
    if kind == "floor":
        print(json.dumps({"seconds": _key_floor(count), "keys": count}))
    else:
        took, keys = _evaluate("RSA-4096" if kind == "rsa" else "ECDSA-P256")
        print(json.dumps({"seconds": took, "keys": keys}))


def _measure(kind: str, count: int = 0) -> dict[str, float]:
    return measure(__file__, kind, str(count))


def _span(values: list[float]) -> str:
    values = sorted(values)
    return f"{values[0]:.2f} / {statistics.median(values):.2f} / {values[-1]:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "KEYS"))
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    rsa, floor, ecdsa = [], [], []
    for _ in range(args.repeat):
        evaluation = _measure("rsa")
        rsa.append(evaluation["seconds"])
        floor.append(_measure("floor", int(evaluation["keys"]))["seconds"])
        ecdsa.append(_measure("ecdsa")["seconds"])
    keys = int(evaluation["keys"])
    ratios = sorted(r / f for r, f in zip(rsa, floor, strict=True))
    print(f"dev stack, {keys} keys; {args.repeat} fresh processes each, after a warm-up; "
          "min / median / max")  # fmt: skip
    print(f"RSA-4096 evaluation        {_span(rsa)}")
    print(f"key floor ({keys} x RSA-4096) {_span(floor)}")
    print(f"ECDSA P-256 evaluation     {_span(ecdsa)}")
    print(f"evaluation / key floor: {statistics.median(ratios):.2f}x "
          f"(max {ratios[-1]:.2f}x, per repetition)")  # fmt: skip


if __name__ == "__main__":
    main()
