"""`vos-infra plan`: what a stack would register, evaluated offline.

By default a summary (resources by type and by service, published ports, what an update
would do); `--full` lists every resource with its inputs; `--json` is the full listing for
machines. Secrets never print; a file a container receives that its upload declares
non-secret shows its digest and size instead of `[secret]`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from infra.cli.redact import UNKNOWN, redact, scrub
from infra.offline.mocks import unwrap
from infra.offline.runner import Evaluation, evaluate

CONTAINER = "docker:index/container:Container"


def _parent_name(parent_urn: str) -> str:
    return parent_urn.rsplit("::", 1)[-1] if parent_urn else ""


def _public_files(evaluation: Evaluation) -> set[tuple[str, str]]:
    """(service, path) of every upload its container spec declares non-secret."""
    platform = evaluation.result
    services = getattr(platform, "services", {}) or {}
    return {
        (spec.service, upload.path)
        for component in services.values()
        for spec in component.specs.values()
        for upload in spec.uploads
        if not upload.secret
    }


def _digest(content: Any) -> str:
    if not isinstance(content, str):
        return UNKNOWN
    return f"sha256:{hashlib.sha256(content.encode()).hexdigest()[:16]} ({len(content)} bytes)"


def _inputs(registration: Any, public: set[tuple[str, str]]) -> dict[str, Any]:
    inputs: dict[str, Any] = redact(registration.inputs)
    if registration.type != CONTAINER or "uploads" not in inputs:
        return inputs
    plain = unwrap(registration.inputs)
    labels = {x["label"]: x["value"] for x in plain.get("labels") or []}
    service = labels.get("vos.service", plain.get("hostname", ""))
    contents = {u["file"]: u.get("content") for u in plain.get("uploads") or []}
    for upload in inputs["uploads"]:
        if (service, upload["file"]) in public:
            upload["content"] = _digest(contents.get(upload["file"]))
    return inputs


def describe(evaluation: Evaluation) -> dict[str, Any]:
    public = _public_files(evaluation)
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
                "inputs": _inputs(r, public),
            }
            for r in sorted(evaluation.registrations, key=lambda r: r.urn)
        ],
    }


def _header(plan: dict[str, Any]) -> str:
    return (
        f"vos-infra plan: stack {plan['stack']} ({plan['mode']} under offline mocks: "
        f"no Pulumi CLI, no Docker, no network) - {plan['resourceCount']} resources"
    )


def _full(plan: dict[str, Any]) -> str:
    lines = [
        _header(plan),
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


def _summary(plan: dict[str, Any]) -> str:
    resources = plan["resources"]
    lines = [_header(plan), "", "by type:"]
    for type_, count in sorted(Counter(r["type"] for r in resources).items()):
        lines.append(f"  {count:>4}  {type_}")
    lines += ["", "containers by service:"]
    services: dict[str, list[str]] = {}
    published = []
    for r in resources:
        if r["type"] != CONTAINER:
            continue
        inputs = r["inputs"]
        labels = {x["label"]: x["value"] for x in inputs.get("labels") or []}
        role = "files carrier" if labels.get("vos.role") == "files" else r["name"]
        services.setdefault(labels.get("vos.service", r["name"]), []).append(role)
        for port in inputs.get("ports") or []:
            published.append(
                f"  {port.get('ip', '0.0.0.0')}:{port['external']} -> "  # noqa: S104
                f"{inputs.get('hostname')}:{port['internal']}"
            )
    for service, roles in sorted(services.items()):
        lines.append(f"  {service}: {', '.join(sorted(roles))}")
    lines += ["", "published on the host:", *(published or ["  nothing"])]
    operations = Counter(r["operation"] for r in resources)
    lines += [
        "",
        "an update would: " + ", ".join(f"{k} {v}" for k, v in sorted(operations.items())),
    ]
    lines.append(f"every resource and its inputs: vos-infra plan --stack {plan['stack']} --full")
    return "\n".join(lines)


def run_plan(stack: str, as_json: bool, preview: bool, full: bool = False) -> str:
    evaluation = evaluate(stack, preview=preview)
    plan = describe(evaluation)
    if as_json:
        text = json.dumps(plan, indent=2, sort_keys=True)
    else:
        text = _full(plan) if full else _summary(plan)
    return scrub(text, evaluation.secret_values())
