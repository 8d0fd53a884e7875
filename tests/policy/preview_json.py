"""What `pulumi preview --json` prints for an evaluated stack (pkg/display/json.go
PreviewDigest; steps[].newState is an apitype.ResourceV3), secrets shown as "[secret]"."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from infra.offline.runner import Evaluation
from infra.policy.resources import _wire


def _blind(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _blind(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blind(v) for v in value]
    return value


def preview_document(evaluation: Evaluation) -> dict[str, Any]:
    stack = evaluation.stack
    providers: dict[str, str] = {}
    steps = []
    for r in evaluation.registrations:
        if not r.custom:
            continue
        package = r.type.split(":", 1)[0]
        provider = ""
        if package not in ("pulumi-python",):
            urn = f"urn:pulumi:{stack}::vos-infra::pulumi:providers:{package}::default"
            if urn not in providers:
                providers[urn] = f"{urn}::04da6b54-80e4-46f7-96ec-b56ff0331ba9"
                steps.append({"op": "create", "urn": urn, "newState": {
                    "urn": urn, "custom": True, "type": f"pulumi:providers:{package}",
                    "inputs": {}, "outputs": {}}})  # fmt: skip
            provider = providers[urn]
        state = {
            "urn": r.urn, "custom": True, "type": r.type, "provider": provider,
            "inputs": _blind(_wire(r.inputs)), "outputs": _blind(_wire(r.outputs)),
            "parent": r.parent, "dependencies": list(r.options.get("dependencies") or []),
        }  # fmt: skip
        steps.append({"op": "create", "urn": r.urn, "provider": provider, "newState": state})
    return {"steps": steps, "changeSummary": {"create": len(steps)}}
