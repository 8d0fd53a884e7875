"""Make recorded resource properties safe to print.

Secret values are replaced by a marker; PEM blocks (certificates, CSRs) are shortened to
their type and a fingerprint. As a second line of defence every string the engine holds as
a secret anywhere is scrubbed from everything printed, so a value that some resource
forgot to mark secret still never reaches a terminal or a CI log.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

SECRET = "[secret]"  # noqa: S105 (the redaction marker, not a password)
UNKNOWN = "[unknown until up]"
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----\s*")


def _shorten_pem(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        digest = hashlib.sha256(match.group(0).strip().encode()).hexdigest()[:16]
        return f"<{match.group(1)} sha256:{digest}>"

    return _PEM.sub(one, text)


# docker.Container `uploads`: one secret file content makes the whole list secret on the
# wire. Where each file goes, its owner and mode are never secret and are what a reviewer
# needs to see, so they are shown; the contents stay redacted.
UPLOAD_METADATA = ("file", "owner", "group", "permissions", "executable")


def _uploads(value: Any) -> Any:
    whole_list_secret = rpc.is_rpc_secret(value)
    entries = value["value"] if whole_list_secret else value
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return redact(value)
    shown = []
    for entry in entries:
        metadata = {k: redact(entry[k]) for k in UPLOAD_METADATA if k in entry}
        content = SECRET if whole_list_secret else redact(entry.get("content"))
        shown.append(metadata | {"content": content})
    return shown


def redact(value: Any, key: str | None = None) -> Any:
    if key == "uploads":
        return _uploads(value)
    if rpc.is_rpc_secret(value):
        return SECRET
    if value == rpc.UNKNOWN or isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double
    if isinstance(value, str):
        return _shorten_pem(value)
    return value


def _longest_first(secrets: Iterable[str]) -> list[str]:
    # Longest first, so a secret that contains another is removed whole.
    return [s for s in sorted(set(secrets), key=len, reverse=True) if len(s) >= 4]


def _scrubbed(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, SECRET)
    return text


def scrub(text: str, secrets: Iterable[str]) -> str:
    return _scrubbed(text, _longest_first(secrets))


def scrub_values(value: Any, secrets: Iterable[str]) -> Any:
    """`scrub` on every string of a JSON-like value, before it is encoded (where a newline
    in a key would no longer match)."""
    ordered = _longest_first(secrets)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return _scrubbed(v, ordered)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)
