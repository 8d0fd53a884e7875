"""The payload of one evaluation, captured and replayed with no program logic.

`capture` evaluates the program under the material mocks and keeps, for every resource
registration, what the SDK was handed and what the engine received: the resource class,
its properties object (the generated `*Args` class and its property names, unset ones
included, since the SDK makes an output for each), the wire inputs with their secret
markers, parent, dependencies and options, the outputs returned, and the outputs each
component registered.

`replay_body` registers exactly that (same classes, same properties objects, same parents,
dependencies, options, component outputs) from plain values: the SDK's work for this
payload with none of the program's own (no computing of values, no `apply`, no helper
code). `RecordedMocks` answers every registration, the program's and the replay's alike,
with the recorded id and outputs, so neither side pays for generating material.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi import _types
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockResourceArgs

from tools.offline.mocks import NOTHING_REQUESTED, MaterialMocks, Operation, Requested, unwrap
from tools.offline.monitor import RecordingMonitor
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig


@dataclass(frozen=True)
class Item:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    resource_class: tuple[str, str]
    args_class: tuple[str, str] | None
    """The generated properties class the SDK was handed, or None for a plain dict."""
    property_names: tuple[str, ...]
    """Python names for an args class, wire names for a dict, unset properties included."""
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    options: dict[str, Any]
    component_outputs: dict[str, Any] | None = field(default=None)


def _class_ref(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def _load(ref: tuple[str, str]) -> Any:
    found: Any = importlib.import_module(ref[0])
    for part in ref[1].split("."):
        found = getattr(found, part)
    return found


@contextmanager
def _recording_constructors(shapes: dict[tuple[str, str], tuple[Any, ...]]) -> Iterator[None]:
    """Note each resource's class and properties object as the SDK receives them."""
    original = pulumi.Resource.__init__

    def noting(
        self: Any, t: str, name: str, custom: bool, props: Any = None, *a: Any, **k: Any
    ) -> None:
        shape: tuple[tuple[str, str] | None, tuple[str, ...]]
        if isinstance(props, dict) or props is None:
            shape = (None, tuple(props or ()))
        else:
            shape = (_class_ref(type(props)), tuple(vars(props)))
        shapes[(t, name)] = (_class_ref(type(self)), *shape)
        original(self, t, name, custom, props, *a, **k)

    pulumi.Resource.__init__ = noting  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.Resource.__init__ = original  # type: ignore[method-assign]


@contextmanager
def _recording_component_outputs(found: dict[str, dict[str, Any]]) -> Iterator[None]:
    """Note the outputs each component registers (the stock mock monitor drops them)."""
    original = RecordingMonitor.RegisterResourceOutputs

    def noting(self: RecordingMonitor, request: Any) -> Any:
        found[request.urn] = rpc.deserialize_properties(request.outputs)
        return original(self, request)  # type: ignore[no-untyped-call]

    RecordingMonitor.RegisterResourceOutputs = noting  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        RecordingMonitor.RegisterResourceOutputs = original  # type: ignore[method-assign]


def capture(config: StackConfig) -> list[Item]:
    """Evaluate the dev stack with `config` under the material mocks; its payload."""
    shapes: dict[tuple[str, str], tuple[Any, ...]] = {}
    component_outputs: dict[str, dict[str, Any]] = {}
    with _recording_constructors(shapes), _recording_component_outputs(component_outputs):
        evaluation = evaluate("dev", config)
    items = []
    for r in evaluation.registrations:
        resource_class, args_class, names = shapes[(r.type, r.name)]
        items.append(
            Item(
                r.urn,
                r.type,
                r.name,
                r.custom,
                r.parent,
                resource_class,
                args_class,
                names,
                r.inputs,
                r.outputs,
                r.id,
                r.options,
                component_outputs.get(r.urn),
            )
        )
    return items


class RecordedMocks(MaterialMocks):
    """Every registration answered with the recorded id and outputs (as the engine returned
    them, secret outputs still wrapped): no material is generated on either side."""

    def __init__(self, items: list[Item]) -> None:
        super().__init__()
        self.answers = {(i.type, i.name): (i.id, i.outputs) for i in items}

    def register(
        self, args: MockResourceArgs, trigger: Any, requested: Requested = NOTHING_REQUESTED
    ) -> tuple[str, dict[str, Any], Operation]:
        answer = self.answers.get((args.typ, args.name))
        if answer is None:  # the bare floor's resources: echo the inputs
            return f"{args.name}-id", unwrap(args.inputs), "create"
        return answer[0], answer[1], "create"


Values = tuple[tuple[str, Any, bool], ...]
"""(key, plain value, secret?) of a properties object or of a component's outputs."""


@dataclass(frozen=True)
class _Prepared:
    """An item made ready before the clock starts: classes loaded, values unwrapped."""

    item: Item
    # Classes loaded by name; Any because they are instantiated through `cls.__new__(cls)`
    # (no __init__: the SDK's own constructor is called on them), which mypy types as
    # type.__new__.
    resource_class: Any
    args_class: Any
    values: Values
    component_outputs: Values | None


def _values(keys: Iterator[tuple[str, str]], wire: dict[str, Any]) -> Values:
    """`keys`: (key in the properties object, wire name); unset properties stay None."""
    found = ((key, wire.get(name)) for key, name in keys)
    return tuple((key, unwrap(value), rpc.is_rpc_secret(value)) for key, value in found)


def _prepare(item: Item) -> _Prepared:
    args_class = _load(item.args_class) if item.args_class else None
    to_wire = _types.input_type_py_to_pulumi_names(args_class) if args_class else {}
    keys = ((n, to_wire.get(n, n)) for n in item.property_names)
    outputs = item.component_outputs
    return _Prepared(
        item,
        _load(item.resource_class),
        args_class,
        _values(keys, item.inputs),
        None if outputs is None else _values(((k, k) for k in outputs), outputs),
    )


def _plain(values: Values) -> dict[str, Any]:
    """As a program passes them: plain values, secrets as secret Outputs (made here, on the
    running evaluation's loop)."""
    return {k: pulumi.Output.secret(v) if secret else v for k, v, secret in values}


def _properties(prepared: _Prepared) -> Any:
    if prepared.args_class is None:
        return _plain(prepared.values)
    props = prepared.args_class.__new__(prepared.args_class)
    props.__dict__.update(_plain(prepared.values))
    return props


def _options(item: Item, resources: dict[str, pulumi.Resource]) -> pulumi.ResourceOptions:
    o = item.options
    return pulumi.ResourceOptions(
        parent=resources.get(item.parent),
        depends_on=[resources[urn] for urn in o.get("dependencies", []) if urn in resources],
        delete_before_replace=o.get("deleteBeforeReplace") or None,
        retain_on_delete=o.get("retainOnDelete") or None,
        replace_on_changes=o.get("replaceOnChanges") or None,
        ignore_changes=o.get("ignoreChanges") or None,
        protect=o.get("protect") or None,
        additional_secret_outputs=o.get("additionalSecretOutputs") or None,
        replacement_trigger=o.get("replacementTrigger"),
    )


def replay_body(items: list[Item]) -> Callable[[], None]:
    """A program that registers the payload and nothing else. The classes are loaded and
    the recorded values unwrapped now, before the evaluation (and its clock) starts."""
    prepared = [_prepare(item) for item in items]

    def body() -> None:
        resources: dict[str, pulumi.Resource] = {}
        components = []
        for p in prepared:
            item = p.item
            resource = p.resource_class.__new__(p.resource_class)
            props, opts = _properties(p), _options(item, resources)
            if item.custom:
                pulumi.CustomResource.__init__(resource, item.type, item.name, props, opts)
            else:
                pulumi.ComponentResource.__init__(resource, item.type, item.name, props, opts)
                if p.component_outputs is not None:
                    components.append((resource, p.component_outputs))
            resources[item.urn] = resource
        for resource, outputs in components:
            resource.register_outputs(_plain(outputs))

    return body


def bare_body(count: int) -> Callable[[], None]:
    """As many resources with one property each: the SDK's cost per resource alone."""

    def body() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Bare", f"r{i}", {"value": f"r{i}"})

    return body
