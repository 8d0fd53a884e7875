"""What the pack is given: each resource's type, URN, inputs, outputs, parent,
dependencies and provider, from an offline evaluation or from `pulumi preview --json`.

The shape of `pulumi preview --json` is defined here once: `preview_document` writes it for
an offline evaluation (what `vos-infra plan --json` prints) and `from_preview` reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from tools.offline.monitor import Registration
from tools.offline.runner import PROJECT, Evaluation

SECRET_SIG = rpc._special_sig_key
PRINTED_SECRET = "[secret]"  # noqa: S105 (how the CLI prints a secret, not a password)
ROOT_STACK = "pulumi:pulumi:Stack"
PROVIDERS = "pulumi:providers:"


@dataclass(frozen=True)
class PolicyInput:
    type: str
    urn: str
    name: str
    inputs: dict[str, Any]
    """As the engine sends them to Analyze: secrets wrapped, unknowns as sentinels."""
    outputs: dict[str, Any]
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    provider: tuple[str, str, dict[str, Any]] | None = None
    """(type, urn, inputs) of the resource's provider."""
    meta: dict[str, Any] = field(default_factory=dict)


DEFAULT_PROVIDER = "default"


def _default_provider(stack: str, type_: str) -> tuple[str, str, dict[str, Any]] | None:
    package = type_.split(":", 1)[0]
    if package in ("pulumi", "pulumi-python") or type_.startswith("vos:"):
        return None
    urn = f"urn:pulumi:{stack}::{PROJECT}::{PROVIDERS}{package}::{DEFAULT_PROVIDER}"
    return (f"{PROVIDERS}{package}", urn, {})


def _wire(value: Any) -> Any:
    """Values as the engine puts them on the wire: an unknown is the unknown sentinel."""
    if isinstance(value, pulumi.output.Unknown) or value is rpc.UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def from_evaluation(evaluation: Evaluation) -> list[PolicyInput]:
    """Every custom resource of an evaluation (components are not analyzed by the engine)."""
    return [
        PolicyInput(
            type=r.type,
            urn=r.urn,
            name=r.name,
            inputs=_wire(r.inputs),
            outputs=_wire(r.outputs),
            parent=r.parent,
            dependencies=tuple(r.options.get("dependencies") or ()),
            provider=_default_provider(evaluation.stack, r.type),
        )
        for r in evaluation.registrations
        if r.custom
    ]


# `pulumi preview --json`: pkg/backend/display/json.go (pulumi/pulumi) prints a PreviewDigest,
# {"steps": [PreviewStep], "changeSummary": {op: count}, ...}; each PreviewStep is
# {"op", "urn", "provider", "newState", ...} with `op` a deploy.StepOp
# (pkg/resource/deploy/step.go: "same", "create", "update", "delete", "replace",
# "create-replacement", "delete-replaced", ...; the strings of apitype.OpType in
# sdk/go/common/apitype/updates.go) and `newState` an apitype.ResourceV3
# (sdk/go/common/apitype/core.go: urn, custom, type, inputs, outputs, parent, dependencies,
# propertyDependencies, provider "<provider URN>::<provider id>"). Secret values are printed
# as "[secret]" (massagePropertyValue) and unknown ones as the unknown sentinel.


def _printed(value: Any, show_secrets: bool) -> Any:
    """A wire value (unknowns as the sentinel) as the preview prints it."""
    if rpc.is_rpc_secret(value):
        return _printed(value["value"], show_secrets) if show_secrets else PRINTED_SECRET
    if isinstance(value, dict):
        return {k: _printed(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_printed(v, show_secrets) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double; JSON prints 8443
    return value


def _step(op: str, state: dict[str, Any]) -> dict[str, Any]:
    step = {"op": op, "urn": state["urn"], "newState": state, "detailedDiff": None}
    return step | ({"provider": state["provider"]} if state["provider"] else {})


def _state(
    type_: str,
    urn: str,
    custom: bool,
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    parent: str = "",
    dependencies: list[str] | None = None,
    property_dependencies: dict[str, list[str]] | None = None,
    provider: str = "",
) -> dict[str, Any]:
    return {
        "urn": urn,
        "custom": custom,
        "type": type_,
        "inputs": inputs or {},
        "outputs": outputs or {},
        "parent": parent,
        "dependencies": list(dependencies or ()),
        "propertyDependencies": dict(property_dependencies or {}),
        "provider": provider,
    }


def _resource_state(r: Registration, provider: str, show_secrets: bool) -> dict[str, Any]:
    return _state(
        r.type,
        r.urn,
        r.custom,
        inputs=_printed(_wire(r.inputs), show_secrets),
        outputs=_printed(_wire(r.outputs), show_secrets),
        parent=r.parent,
        dependencies=r.options.get("dependencies"),
        property_dependencies=r.options.get("propertyDependencies"),
        provider=provider,
    )


def _op(registrations: list[Registration]) -> str:
    """A provider or the stack is created with the first of its resources, kept after."""
    return "create" if all(r.operation == "create" for r in registrations) else "same"


def preview_document(evaluation: Evaluation, *, show_secrets: bool = False) -> dict[str, Any]:
    """What `pulumi preview --json` prints for the evaluation, as with `--show-sames`: every
    resource has a step, the root stack and each default provider included, in registration
    order; a replacement is one "replace" step. Secrets print as "[secret]" unless
    `show_secrets`. A plan never knows a provider's id: it is the unknown sentinel."""
    stack = evaluation.stack
    registrations = evaluation.registrations
    defaults = [_default_provider(stack, r.type) if r.custom else None for r in registrations]
    users: dict[str, list[Registration]] = {}
    for r, default in zip(registrations, defaults, strict=True):
        if default is not None:
            users.setdefault(default[1], []).append(r)
    root = f"urn:pulumi:{stack}::{PROJECT}::{ROOT_STACK}::{PROJECT}-{stack}"
    steps = [_step(_op(registrations), _state(ROOT_STACK, root, False))]
    references: dict[str, str] = {}
    for r, default in zip(registrations, defaults, strict=True):
        if default is not None and default[1] not in references:
            type_, urn, _ = default
            references[urn] = f"{urn}::{rpc.UNKNOWN}"
            steps.append(_step(_op(users[urn]), _state(type_, urn, True)))
        provider = references[default[1]] if default is not None else ""
        steps.append(_step(r.operation, _resource_state(r, provider, show_secrets)))
    changes: dict[str, int] = {}
    for step in steps:
        if not step["newState"]["type"].startswith(PROVIDERS):
            changes[step["op"]] = changes.get(step["op"], 0) + 1
    return {"steps": steps, "changeSummary": changes}


def _opaque(value: Any) -> Any:
    """`pulumi preview --json` prints a secret as "[secret]" (or a secret object with a
    ciphertext): the value is hidden, so the pack gets an unknown, never a literal."""
    if value == PRINTED_SECRET:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        if SECRET_SIG in value:
            inner = value.get("value", value.get("plaintext"))
            return rpc.UNKNOWN if inner is None or inner == PRINTED_SECRET else _opaque(inner)
        return {k: _opaque(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_opaque(v) for v in value]
    return value


def from_preview(path: Path) -> list[PolicyInput]:
    """The resources of a `pulumi preview --json` document (pkg/display/json.go
    PreviewDigest: steps[].newState is an apitype.ResourceV3)."""
    document = json.loads(path.read_text())
    states = [s.get("newState") for s in document.get("steps", []) if s.get("newState")]
    providers = {
        state["urn"]: (state["type"], state["urn"], _opaque(state.get("inputs") or {}))
        for state in states
        if str(state.get("type", "")).startswith(PROVIDERS)
    }
    found = []
    for step, state in ((s, s.get("newState")) for s in document.get("steps", [])):
        if not state or not state.get("custom", True):
            continue
        type_ = str(state.get("type", ""))
        if type_.startswith(PROVIDERS) or type_ == ROOT_STACK:
            continue
        provider_ref = str(state.get("provider") or step.get("provider") or "")
        # A provider reference is "<provider URN>::<provider id>".
        provider_urn = provider_ref.rsplit("::", 1)[0] if "::" in provider_ref else ""
        inputs = _opaque(state.get("inputs") or {})
        found.append(
            PolicyInput(
                type=type_,
                urn=str(state["urn"]),
                name=str(state["urn"]).rsplit("::", 1)[-1],
                inputs=inputs,
                outputs=_opaque(state.get("outputs") or inputs),
                parent=str(state.get("parent") or ""),
                dependencies=tuple(state.get("dependencies") or ()),
                provider=providers.get(provider_urn),
            )
        )
    return found
