"""Credentials: no default or literal credential anywhere, services that demand auth, every
generated secret strong, rotatable and kept in Vault."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.docker_props import env, files, never_started, service
from vos_policies.rule import (
    CONTAINER,
    KV_SECRET,
    PRIVATE_KEY,
    RANDOM_PASSWORD,
    UNKNOWN,
    Rule,
    StackSubject,
    Subject,
    get,
    list_setting,
)

CRITICAL, HIGH = Severity.CRITICAL, Severity.HIGH

WELL_KNOWN = {"guest", "admin", "password", "postgres", "root", "changeme", "secret", "test",
              "rabbitmq", "grafana", "123456", "default"}  # fmt: skip
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY|"
                         r"CREDENTIAL|COOKIE|ALLOWED_KEYS", re.IGNORECASE)  # fmt: skip
NOT_A_SECRET = ("_FILE", "_PATH", "_DIR", "_ENABLED", "_USERS", "_USER", "_TTL", "_MODE")


def _defaults(c: Subject) -> Iterator[str]:
    variables = env(c)
    if str(variables.get("POSTGRES_HOST_AUTH_METHOD", "")).lower() == "trust":
        yield "POSTGRES_HOST_AUTH_METHOD=trust lets anyone in without a password"
    for key, value in variables.items():
        if SECRET_NAME.search(key) and str(value).lower() in WELL_KNOWN:
            yield f"environment {key} is a well-known default ({value})"
        if key.upper().endswith(("_USER", "_USERNAME")) and str(value).lower() == "guest":
            yield f"environment {key}=guest: RabbitMQ's default account"
    for file in files(c):
        if not isinstance(file.content, str):
            continue
        if str(file.path).endswith(".json") and '"users"' in file.content:
            try:
                users = json.loads(file.content).get("users", [])
            except ValueError:
                users = []
            if any(u.get("name") == "guest" for u in users if isinstance(u, dict)):
                yield f"{file.path}: defines RabbitMQ's guest user"
        if re.search(r"^\s*loopback_users(\.guest)?\s*=\s*(false|none)", file.content, re.M):
            yield f"{file.path}: lets guest log in from the network"
        if re.search(r"^\s*default_(user|pass)\s*=\s*guest", file.content, re.M):
            yield f"{file.path}: keeps RabbitMQ's default guest account"


def _literal_secrets(c: Subject) -> Iterator[str]:
    for key, value in env(c).items():
        if value is UNKNOWN or not SECRET_NAME.search(key) or key.upper().endswith(NOT_A_SECRET):
            continue
        # A flag (GF_SECURITY_COOKIE_SECURE=true) names a credential but holds none.
        if value not in ("", None) and str(value).lower() not in ("true", "false"):
            yield f"environment {key} holds a credential; deliver it as a file (`{key}_FILE`)"


def _weaviate(c: Subject) -> Iterator[str]:
    if never_started(c):
        return  # its files carrier: the settings are the running container's
    variables = env(c)
    weaviate = service(c) in set(c.config["weaviateServices"]) or any(
        k.startswith("AUTHENTICATION_") or k == "PERSISTENCE_DATA_PATH" for k in variables
    )
    if not weaviate:
        return
    if variables.get("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED") != "false":
        yield "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED is not false (Weaviate's default is true)"
    enabled = {variables.get(k) for k in ("AUTHENTICATION_APIKEY_ENABLED",
                                          "AUTHENTICATION_OIDC_ENABLED")}  # fmt: skip
    if "true" not in enabled:
        yield "neither API-key nor OIDC authentication is enabled"
    if (
        variables.get("AUTHORIZATION_ADMINLIST_ENABLED") != "true"
        and variables.get("AUTHORIZATION_RBAC_ENABLED") != "true"
    ):
        yield "no authorization (admin list or RBAC): every user is an administrator"


def _grafana(c: Subject) -> Iterator[str]:
    variables = env(c)
    if not any(k.startswith("GF_") for k in variables):
        return
    for key in ("GF_AUTH_ANONYMOUS_ENABLED", "GF_USERS_ALLOW_SIGN_UP", "GF_AUTH_BASIC_ENABLED"):
        if key != "GF_AUTH_BASIC_ENABLED" and str(variables.get(key, "false")).lower() == "true":
            yield f"{key}=true opens Grafana to anyone"
    if variables.get("GF_SERVER_PROTOCOL") != "https":
        yield "GF_SERVER_PROTOCOL is not https"
    if str(variables.get("GF_SECURITY_COOKIE_SECURE", "false")).lower() != "true":
        yield "GF_SECURITY_COOKIE_SECURE is not true"
    if "GF_SECURITY_ADMIN_PASSWORD__FILE" not in variables:
        yield "the admin password does not come from a file (GF_SECURITY_ADMIN_PASSWORD__FILE)"


def _strong(p: Subject) -> Iterator[str]:
    length = get(p.props, "length")
    if length is UNKNOWN or not isinstance(length, int | float) or length < p.config["minLength"]:
        yield f"length {length}; at least {p.config['minLength']} characters"
    keepers = get(p.props, "keepers", {}) or {}
    if keepers is UNKNOWN or "rotation" not in keepers.keys():  # noqa: SIM118 (a proxy)
        yield "no rotation keeper: the value cannot be rotated by a stack update"


def _in_vault(stack: StackSubject) -> Iterator[tuple[str, str]]:
    """Every generated password and private key feeds a Vault secret (by dependency, so this
    holds in preview, where the values are unknown)."""
    written: set[str] = set()
    for secret in stack.of_type(KV_SECRET):
        written |= {d.urn for d in secret.dependencies}
        for dependencies in secret.property_dependencies.values():
            written |= {d.urn for d in dependencies}
    for resource in stack.of_type(RANDOM_PASSWORD) + stack.of_type(PRIVATE_KEY):
        if resource.urn not in written:
            yield resource.urn, f"{resource.name} is generated but written to no Vault secret"


RULES = [
    Rule("no-default-credentials", "credentials", "No well-known default credential or "
         "authentication bypass (trust, guest) anywhere.", "Generate the credential (it is "
         "kept in Vault) and remove guest/trust settings.", CRITICAL, _defaults, (CONTAINER,)),
    Rule("no-literal-secrets-in-env", "credentials", "Credentials never travel as environment "
         "values; services read them from files.", "Upload the value as a secret file and "
         "point the service at it (`*_FILE`).", CRITICAL, _literal_secrets, (CONTAINER,)),
    Rule("weaviate-requires-auth", "credentials", "Weaviate turns anonymous access off "
         "explicitly and requires API keys (or OIDC) with authorization.", "Set "
         "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false, AUTHENTICATION_APIKEY_ENABLED=true "
         "and an admin list or RBAC.", CRITICAL, _weaviate, (CONTAINER,),
         {"weaviateServices": list_setting("services that are Weaviate", ["weaviate"])}),
    Rule("grafana-requires-auth", "credentials", "Grafana allows no anonymous users or "
         "sign-up, serves HTTPS with secure cookies, and reads its admin password from a file.",
         "Set GF_AUTH_ANONYMOUS_ENABLED=false, GF_USERS_ALLOW_SIGN_UP=false, "
         "GF_SERVER_PROTOCOL=https, GF_SECURITY_COOKIE_SECURE=true and "
         "GF_SECURITY_ADMIN_PASSWORD__FILE.", HIGH, _grafana, (CONTAINER,)),
    Rule("generated-secrets-strong", "credentials", "Every generated secret is long enough and "
         "rotatable.", "Generate at least 32 characters with a `rotation` keeper.", HIGH,
         _strong, (RANDOM_PASSWORD,),
         {"minLength": {"type": "integer", "description": "shortest secret", "default": 32}}),
    Rule("generated-secrets-in-vault", "credentials", "Every generated password and private key "
         "is written to Vault.", "Add it to the SecretStore (components/vault).", HIGH,
         _in_vault),
]  # fmt: skip
