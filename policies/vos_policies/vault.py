"""Vault: verified TLS to Vault, history kept, least-privilege policies, AppRole secret ids
that expire and are renewed."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.rule import APPROLE, KV_SECRET, UNKNOWN, VAULT_POLICY, Rule, Subject


def _verified(s: Subject) -> Iterator[str]:
    if s.get("insecure_skip_verify", False) is not False:
        yield "insecure_skip_verify: Vault's certificate is not verified"


def _history(s: Subject) -> Iterator[str]:
    if s.get("purge_on_delete", False) is not False:
        yield "purge_on_delete destroys every version when the secret leaves the stack"


def _least_privilege(p: Subject) -> Iterator[str]:
    document = p.get("policy")
    if document is UNKNOWN or not isinstance(document, str):
        yield "the policy document is not known"
        return
    for path, body in re.findall(r'path\s+"([^"]+)"\s*\{([^}]*)\}', document):
        capabilities = set(re.findall(r'"(\w+)"', body))
        if capabilities - {"read", "list"}:
            yield f"path {path} grants {sorted(capabilities - {'read', 'list'})}"
        if "+" in path or path.count("*") > 1 or (path.endswith("*") and path.count("/") < 4):
            yield f"path {path} reaches beyond one service's folder"


def _hours(value: object) -> float | None:
    """A Vault duration ("2160h", "90m", "3600s" or seconds) in hours; None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / 3600
    found = re.fullmatch(r"(\d+)([hms]?)", str(value))
    if not found:
        return None
    return int(found.group(1)) / {"h": 1, "m": 60, "s": 3600, "": 3600}[found.group(2)]


def _secret_id_ttl(r: Subject) -> Iterator[str]:
    ttl = _hours(r.get("secret_id_ttl", "0"))
    if not ttl:
        yield "secret_id_ttl is 0 or unknown: the AppRole's secret id never expires"
        return
    if ttl > float(r.config["maxHours"]):
        yield f"secret_id_ttl is {ttl:.0f} h, above {r.config['maxHours']} h"
    renew = r.get("renew_before_s")
    if renew is not UNKNOWN and (not isinstance(renew, (int, float)) or not 0 < renew / 3600 < ttl):
        yield (
            f"renew_before_s {renew!r} is not a window inside the secret id's lifetime: "
            "it would never be renewed before it expires"
        )


RULES = [
    Rule("vault-tls-verified", "vault", "Vault's TLS certificate is always verified.",
         "Set vault.insecureSkipVerify to false and VAULT_CACERT to Vault's CA.",
         Severity.CRITICAL, _verified, (KV_SECRET,)),
    Rule("vault-history-kept", "vault", "Removing a secret from the stack keeps its versions.",
         "Set vault.purgeOnDelete to false.", Severity.MEDIUM, _history, (KV_SECRET,)),
    Rule("vault-policy-least-privilege", "vault", "A service's Vault policy reads its own "
         "folder and nothing more.", "Grant read (and list) on <mount>/data/<prefix>/<stack>/"
         "<service>/* only.", Severity.HIGH, _least_privilege, (VAULT_POLICY,)),
    Rule("approle-secret-id-expires", "vault", "AppRole secret ids expire, and are renewed "
         "before they do.", "Set vault.secretIdTtlHours (at most maxHours) and "
         "vault.secretIdRenewalHours below it; run `pulumi up` within the renewal window.",
         Severity.MEDIUM, _secret_id_ttl, (APPROLE,),
         {"maxHours": {"type": "integer", "default": 8760,
                       "description": "longest secret id lifetime allowed"}}),
]  # fmt: skip
