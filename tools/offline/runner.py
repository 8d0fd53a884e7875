"""Run the program for a stack under the material mocks and return what it registered."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.settings import ROOT
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.program import OFFLINE
from tools.offline.mocks import MaterialMocks, MockState
from tools.offline.monitor import RecordingMonitor, Registration
from tools.offline.stack_files import StackConfig, read_stack_config

PROJECT = "vos-infra"


@dataclass
class Evaluation:
    stack: str
    preview: bool
    registrations: list[Registration]
    result: Any

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def secret_values(self) -> set[str]:
        """Every secret the providers generated: the plaintext of each output a resource
        declares secret (passwords, private keys, secret ids, Vault data). Secret *inputs*
        are left out on purpose: they also wrap non-secret parts (file paths, modes) of a
        property that holds one secret, and every secret they carry originates here."""
        found: set[str] = set()
        for r in self.registrations:
            for name in r.options.get("additionalSecretOutputs", []):
                if name in r.outputs:
                    found.update(_secret_strings(r.outputs[name], inside_secret=False))
        return found


def _secret_strings(value: Any, inside_secret: bool) -> Iterator[str]:
    if rpc.is_rpc_secret(value):
        yield from _secret_strings(value["value"], inside_secret=True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _secret_strings(v, inside_secret)
    elif isinstance(value, list):
        for v in value:
            yield from _secret_strings(v, inside_secret)
    elif inside_secret and isinstance(value, str) and value:
        yield value


def _default_program() -> Any:
    from infra.program import main

    return main()


def evaluate(
    stack: str,
    config: StackConfig | None = None,
    *,
    preview: bool = False,
    state: MockState | None = None,
    program: Callable[[], Any] = _default_program,
    mocks: MaterialMocks | None = None,
) -> Evaluation:
    """Evaluate `program` as `pulumi preview` (preview=True) or `pulumi up` would.

    `config` defaults to the stack's Pulumi.<stack>.yaml. Pass the same `state` to several
    evaluations to see what an update replaces. `mocks` replaces the material mocks (with
    their own state), e.g. by ones that create some resources for real. Exceptions from the
    program propagate.
    """
    config = config if config is not None else read_stack_config(stack)
    mocks = mocks if mocks is not None else MaterialMocks(state, preview=preview)
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)  # each evaluation is a fresh program run with its own root stack
    pulumi.runtime.set_all_config(config.values, secret_keys=config.secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)

    results: list[Any] = []

    def body() -> None:
        results.append(program())

    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    # The program refuses some things only in a real update (placeholder image digests):
    # an offline evaluation is not one.
    previous = os.environ.get(OFFLINE)
    os.environ[OFFLINE] = "1"
    # As the engine's program process runs (__main__.py): no cyclic collection during the
    # evaluation; here the process goes on (tests, plan), so the collector is on again
    # afterwards and frees the evaluation's cycles in its own time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _sync_await(run_pulumi_func(body))
    finally:
        if collecting:
            gc.enable()
        if previous is None:
            del os.environ[OFFLINE]
        else:
            os.environ[OFFLINE] = previous
    return Evaluation(stack, preview, list(monitor.registrations), results[0] if results else None)
