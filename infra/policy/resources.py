"""What the pack is given: each resource's type, URN, inputs, outputs, parent,
dependencies and provider, from an offline evaluation or from `pulumi preview --json`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from infra.offline.runner import Evaluation

SECRET_SIG = rpc._special_sig_key


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
    urn = f"urn:pulumi:{stack}::vos-infra::pulumi:providers:{package}::{DEFAULT_PROVIDER}"
    return (f"pulumi:providers:{package}", urn, {})


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


def _opaque(value: Any) -> Any:
    """`pulumi preview --json` prints a secret as "[secret]" (or a secret object with a
    ciphertext): the value is hidden, so the pack gets an unknown, never a literal."""
    if value == "[secret]":
        return rpc.UNKNOWN
    if isinstance(value, dict):
        if SECRET_SIG in value:
            inner = value.get("value", value.get("plaintext"))
            return rpc.UNKNOWN if inner is None or inner == "[secret]" else _opaque(inner)
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
        if str(state.get("type", "")).startswith("pulumi:providers:")
    }
    found = []
    for step, state in ((s, s.get("newState")) for s in document.get("steps", [])):
        if not state or not state.get("custom", True):
            continue
        type_ = str(state.get("type", ""))
        if type_.startswith("pulumi:providers:") or type_ == "pulumi:pulumi:Stack":
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
