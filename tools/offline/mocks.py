"""Mocks that answer like providers backed by a stack state.

`MockState` plays the part of the stack's state file: a resource whose inputs and
replacement trigger are unchanged since the last evaluation keeps its outputs (its key, its
password), and one whose inputs or trigger changed is replaced with new material. Reusing
one MockState across evaluations therefore shows what an update would replace, which is how
the tests prove that bumping a rotation counter replaces exactly its class.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
from pulumi.runtime import rpc

from tools.offline.docker_outputs import COMPUTED
from tools.offline.material import GENERATORS
from tools.offline.replacement import replaces, trigger_replaces
from tools.offline.vault_outputs import CREATED, UPDATED

Operation = Literal["create", "same", "update", "replace"]


def unwrap(value: Any) -> Any:
    """Strip secret markers recursively: providers see plaintext."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, Mapping):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def has_unknowns(value: Any) -> bool:
    if value == rpc.UNKNOWN or isinstance(value, pulumi.output.Unknown):
        return True
    if isinstance(value, Mapping):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return False


def fingerprint(inputs: Mapping[str, Any], trigger: Any) -> str:
    blob = json.dumps({"inputs": inputs, "trigger": trigger}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Requested:
    """What the program asked of the engine for a resource besides its inputs (its
    RegisterResource options that decide an update's steps)."""

    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()


NOTHING_REQUESTED = Requested()


@dataclass
class StateEntry:
    fingerprint: str
    resource_id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    trigger: Any = None
    requested: Requested = field(default_factory=Requested)
    init_errors: bool = False
    """A create that failed after the provider saved the resource: the engine keeps it."""
    type: str = ""


@dataclass
class MockState:
    """Outputs of the resources of one stack, keyed by (type, name)."""

    entries: dict[tuple[str, str], StateEntry] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _resource_id(
    args: pulumi.runtime.MockResourceArgs,
    previous: StateEntry | None,
    operation: Operation,
    preview: bool,
) -> str:
    """An id as the engine reports it: none for a component; kept by an in-place update;
    unknown in preview for what is yet to be created (the SDK reads an empty id in preview
    as unknown); new for each created or replaced resource (a new Docker container has a
    new id), so inputs that carry another resource's id change when it is replaced. The id
    counts generations (name-1, name-2, ...): it says nothing of the inputs, secrets
    included, and is the same in every evaluation of the same history."""
    if not args.custom:
        return ""
    if operation == "update" and previous is not None:
        return previous.resource_id
    if preview:
        return ""
    generation = int(previous.resource_id.rpartition("-")[2]) + 1 if previous else 1
    return f"{args.name}-{generation}"


class MaterialMocks(pulumi.runtime.Mocks):
    def __init__(self, state: MockState | None = None, preview: bool = False) -> None:
        self.state = state if state is not None else MockState()
        self.preview = preview

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        resource_id, outputs, _ = self.register(args, trigger=None)
        return resource_id, outputs

    def register(
        self,
        args: pulumi.runtime.MockResourceArgs,
        trigger: Any,
        requested: Requested = NOTHING_REQUESTED,
    ) -> tuple[str, dict[str, Any], Operation]:
        """Outputs for a resource, and whether an update would create, keep or replace it."""
        inputs = unwrap(args.inputs)
        key = (args.typ, args.name)
        print_ = fingerprint(inputs, trigger)
        with self.state.lock:
            previous = self.state.entries.get(key)
        if previous is not None and previous.fingerprint == print_:
            return previous.resource_id, previous.outputs, "same"
        computed = COMPUTED.get(args.typ) if args.custom else None
        generator = (GENERATORS.get(args.typ) or CREATED.get(args.typ)) if args.custom else None
        operation: Operation = "create"
        if previous is not None:
            trigger_changed = trigger_replaces(previous.trigger, trigger)
            replace = replaces(
                args.typ, previous.inputs, inputs, trigger_changed, requested.replace_on_changes
            )
            operation = "replace" if replace else "update"
        updater = UPDATED.get(args.typ) if operation == "update" else None
        if updater is not None and previous is not None and not self.preview:
            outputs = updater(previous.inputs, previous.outputs, inputs)
            resource_id = previous.resource_id
        elif generator is None:
            # Component resources and types without real material echo their inputs
            # (secrets still marked, as the engine keeps a secret input's output secret),
            # with what the provider computes once it has acted (an image id, a job's exit
            # code; unknown in preview).
            outputs = dict(args.inputs)
            if computed is not None and not self.preview and not has_unknowns(inputs):
                outputs.update(computed(inputs))
            resource_id = _resource_id(args, previous, operation, self.preview)
        elif self.preview or has_unknowns(inputs):
            # A provider computes nothing in preview: its outputs are unknown until `up`.
            return f"{args.name}-preview", dict(args.inputs), operation
        else:
            outputs = generator(inputs)
            resource_id = str(outputs.get("id") or f"{args.name}-id")
        if not self.preview:
            with self.state.lock:
                self.state.entries[key] = StateEntry(
                    print_, resource_id, outputs, inputs, trigger, requested
                )
        return resource_id, outputs, operation

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"the program made an unexpected invoke: {args.token}")
