"""Seconds one round of Loki's size guard takes (components/loki/size_guard.sh) on a volume
of N chunk files named as Loki names them, under Debian's busybox with only its applets on
PATH (needs `busybox`; `PYTHONPATH=.`). In the same run, the floor: the walk alone (busybox
find and stat over the same files, its output thrown away), and the per-chunk cost of the
rest (reading each name). Every chunk is within the retention, so every name is read (a
chunk past it by its mtime is not).

    PYTHONPATH=. .venv/bin/python benchmarks/loki_size_guard.py [--chunks N] [--repeat R]
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from components.loki import size_guard

DAY = 86400


def _volume(root: Path, chunks: int) -> Path:
    data = root / "loki"
    now = time.time()
    for n in range(chunks):
        through = int((now - (n % 7 + 0.5) * DAY) * 1000)
        folder = data / "chunks" / size_guard.TENANT / f"{n % 64:x}"
        folder.mkdir(parents=True, exist_ok=True)
        key = f"{through - 3_600_000:x}:{through:x}:{n:x}"
        (folder / base64.b64encode(key.encode()).decode()).write_bytes(b"x" * 512)
    return data


def _applets(root: Path) -> Path:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise SystemExit("busybox is not installed (apt-get install busybox)")
    folder = root / "bb"
    folder.mkdir()
    subprocess.run([busybox, "--install", "-s", str(folder)], check=True)
    return folder


def _round(applets: Path, script: Path, data: Path, root: Path) -> float:
    """One round: the script decides, writes its file and execs the stand-in `true`."""
    env = size_guard.environment(7, 10) | {
        "PATH": str(applets),
        "VOS_LOKI_DATA": str(data),
        "VOS_LOKI_CHUNKS": str(data / "chunks"),
        "VOS_LOKI_RUNTIME_FILE": str(root / "tmp" / "overrides.yaml"),
        "VOS_LOKI_BUDGET_KIB": "1",  # over it: the whole decision runs
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [f"{applets}/sh", str(script), f"{applets}/true"],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    process.wait(timeout=3600)
    elapsed = time.perf_counter() - started
    os.killpg(process.pid, signal.SIGKILL)  # the guard's loop
    return elapsed


def _walk(applets: Path, data: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [f"{applets}/find", str(data), "-type", "f", "-exec", f"{applets}/stat", "-c",
         "%Y %b %B %n", "{}", "+"],
        stdout=subprocess.DEVNULL, check=True, env={"PATH": str(applets)},
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vos-loki-guard-bench-"))
    try:
        applets = _applets(root)
        script = root / "size-guard.sh"
        script.write_text(size_guard.script())
        data = _volume(root, options.chunks)
        rounds, walks = [], []
        for _ in range(options.repeat):
            walks.append(_walk(applets, data))
            rounds.append(_round(applets, script, data, root))
        round_s, walk_s = statistics.median(rounds), statistics.median(walks)
        print(f"{options.chunks} chunks, {options.repeat} rounds (median):")
        print(f"  a round of the guard  {round_s:7.2f} s")
        print(f"  the walk alone        {walk_s:7.2f} s")
        print(
            f"  reading the names     {1000 * (round_s - walk_s) / options.chunks:7.3f} ms a chunk"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
