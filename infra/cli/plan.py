"""`vos-infra plan`: every resource a stack would register, evaluated offline."""

from __future__ import annotations

import json
from typing import Any

from infra.cli.redact import redact, scrub
from infra.offline.runner import Evaluation, evaluate


def _parent_name(parent_urn: str) -> str:
    return parent_urn.rsplit("::", 1)[-1] if parent_urn else ""


def describe(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "stack": evaluation.stack,
        "mode": "preview" if evaluation.preview else "update",
        "resourceCount": len(evaluation.registrations),
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "parent": _parent_name(r.parent),
                "operation": r.operation,
                "inputs": redact(r.inputs),
            }
            for r in sorted(evaluation.registrations, key=lambda r: r.urn)
        ],
    }


def _text(plan: dict[str, Any]) -> str:
    lines = [
        f"vos-infra plan: stack {plan['stack']} ({plan['mode']} under offline mocks: "
        f"no Pulumi CLI, no Docker, no network) - {plan['resourceCount']} resources",
        "secret values are shown as [secret]; certificates as <TYPE sha256:fingerprint>",
        "",
    ]
    for resource in plan["resources"]:
        parent = f"  (parent {resource['parent']})" if resource["parent"] else ""
        lines.append(f"{resource['type']}  {resource['name']}{parent}")
        for key, value in resource["inputs"].items():
            rendered = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            lines.append(f"    {key}: {rendered}")
    return "\n".join(lines)


def run_plan(stack: str, as_json: bool, preview: bool) -> str:
    evaluation = evaluate(stack, preview=preview)
    plan = describe(evaluation)
    text = json.dumps(plan, indent=2, sort_keys=True) if as_json else _text(plan)
    return scrub(text, evaluation.secret_values())
