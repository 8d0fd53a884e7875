"""`vos-infra plan`: what a stack would register, evaluated offline.

By default a summary (resources by type and by service, published ports, what an update
would do); `--full` lists every resource with its inputs; `--json` prints what
`pulumi preview --json` prints for the stack (tools/policy/resources.py preview_document), so
whatever reads a preview reads a plan (`vos-infra check --from-preview`). Secrets never print
(`[secret]`) unless `--json --show-secrets`. A file a container receives that its upload
declares non-secret shows its digest and size in the text views and its content in the JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from typing import Any

from pulumi.runtime import rpc

from tools.cli.redact import UNKNOWN, UPLOAD_METADATA, redact, scrub, scrub_values
from tools.offline.mocks import unwrap
from tools.offline.monitor import Registration
from tools.offline.runner import Evaluation, evaluate
from tools.policy.resources import preview_document

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


def _public_paths(registration: Registration, public: set[tuple[str, str]]) -> set[str]:
    """The files of a container's uploads that its spec declares non-secret."""
    if registration.type != CONTAINER:
        return set()
    plain = unwrap(registration.inputs)
    labels = {x["label"]: x["value"] for x in plain.get("labels") or []}
    service = labels.get("vos.service", plain.get("hostname", ""))
    return {u["file"] for u in plain.get("uploads") or [] if (service, u["file"]) in public}


def _inputs(registration: Registration, public: set[tuple[str, str]]) -> dict[str, Any]:
    inputs: dict[str, Any] = redact(registration.inputs)
    shown = _public_paths(registration, public)
    if not shown or "uploads" not in inputs:
        return inputs
    contents = {u["file"]: u.get("content") for u in unwrap(registration.inputs)["uploads"]}
    for upload in inputs["uploads"]:
        if upload["file"] in shown:
            upload["content"] = _digest(contents.get(upload["file"]))
    return inputs


def _as_declared(uploads: Any, shown: set[str]) -> Any:
    """docker.Container `uploads` (on the wire one secret when any file is) with each file's
    own secrecy: where it goes, its owner and mode in the clear, its content secret unless
    its spec declares it non-secret."""
    entries = uploads["value"] if rpc.is_rpc_secret(uploads) else uploads
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return uploads

    def secret(key: str, value: Any) -> Any:
        keep = key in UPLOAD_METADATA or rpc.is_rpc_secret(value)
        return value if keep else rpc.wrap_rpc_secret(value)

    return [
        e if str(e.get("file")) in shown else {k: secret(k, v) for k, v in e.items()}
        for e in entries
    ]


def _files_as_declared(registration: Registration, public: set[tuple[str, str]]) -> Registration:
    if registration.type != CONTAINER:
        return registration
    shown = _public_paths(registration, public)

    def declared(properties: dict[str, Any]) -> dict[str, Any]:
        if "uploads" not in properties:
            return properties
        return properties | {"uploads": _as_declared(properties["uploads"], shown)}

    return replace(
        registration, inputs=declared(registration.inputs), outputs=declared(registration.outputs)
    )


def preview_json(evaluation: Evaluation, show_secrets: bool = False) -> dict[str, Any]:
    """What `pulumi preview --json` prints for the evaluation (with `--show-secrets`, secret
    values too), each uploaded file as secret as its spec declares it."""
    public = _public_files(evaluation)
    registrations = [_files_as_declared(r, public) for r in evaluation.registrations]
    return preview_document(
        replace(evaluation, registrations=registrations), show_secrets=show_secrets
    )


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


def run_plan(
    stack: str, as_json: bool, preview: bool, full: bool = False, show_secrets: bool = False
) -> str:
    """`show_secrets` applies to the JSON only: the text views always redact."""
    evaluation = evaluate(stack, preview=preview)
    if as_json:
        document = preview_json(evaluation, show_secrets)
        if not show_secrets:
            document = scrub_values(document, evaluation.secret_values())
        return json.dumps(document, indent=4)  # as the CLI prints it
    plan = describe(evaluation)
    text = _full(plan) if full else _summary(plan)
    return scrub(text, evaluation.secret_values())
