"""Every rule through its pure validator: a compliant case passes, a violating one is
reported; unknown values fail closed; the pack's metadata is complete."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi.runtime import rpc
from pulumi_policy.proxy import unknown_checking_proxy
from vos_policies import RULES
from vos_policies.rule import Rule, StackSubject, Subject

from tests.policy.cases import CONTAINER, KEY, KV, NETWORK, PASSWORD, RESOURCE_CASES, SERVICE

BY_NAME = {rule.name: rule for rule in RULES}


def violations(rule: Rule, type_: str, props: dict[str, Any], config: dict[str, Any],
               provider: dict[str, Any] | None = None) -> list[str]:  # fmt: skip
    subject = Subject(type_, "r", "urn:r", unknown_checking_proxy(props), rule.settings(config),
                      provider or {})  # fmt: skip
    return list(rule.violations(subject))


@pytest.mark.parametrize("name", sorted(RESOURCE_CASES))
def test_compliant_case_passes_and_violating_case_is_reported(name: str) -> None:
    rule = BY_NAME[name]
    type_, good, bad, config = RESOURCE_CASES[name]
    assert type_ in rule.types
    provider_bad = {"host": "tcp://192.0.2.10:2375"} if name == "docker-daemon-secured" else None
    assert violations(rule, type_, good, config) == []
    assert violations(rule, type_, bad, config, provider_bad), name


def test_the_daemon_over_tcp_needs_client_certificates() -> None:
    rule = BY_NAME["docker-daemon-secured"]
    tls = {"host": "tcp://192.0.2.10:2376", "certMaterial": "c", "keyMaterial": "k"}
    assert violations(rule, CONTAINER, SERVICE, {}, tls) == []
    assert violations(rule, CONTAINER, SERVICE, {}, {"host": "ssh://ops@host"}) == []


def _resource(type_: str, name: str, props: dict[str, Any], deps: tuple[Any, ...] = ()) -> Any:
    return SimpleNamespace(
        resource_type=type_, name=name, urn=f"urn:{name}", props=unknown_checking_proxy(props),
        dependencies=list(deps), property_dependencies={},
    )  # fmt: skip


def stack_violations(name: str, resources: list[Any]) -> list[tuple[str, str]]:
    rule = BY_NAME[name]
    return list(rule.violations(StackSubject(resources, rule.settings({}))))


def test_backends_join_only_isolated_networks() -> None:
    isolated = {"name": "vos-dev-backend", "internal": True,
                "options": {"com.docker.network.bridge.inhibit_ipv4": "true"}}  # fmt: skip
    container = _resource(CONTAINER, "svc", SERVICE)
    good = [_resource(NETWORK, "backend", isolated), container]
    assert stack_violations("backends-on-isolated-networks", good) == []
    leaky = [_resource(NETWORK, "backend", isolated | {"options": {}}), container]
    assert stack_violations("backends-on-isolated-networks", leaky)


def test_every_generated_secret_reaches_vault() -> None:
    password, key = _resource(PASSWORD, "pw", {}), _resource(KEY, "key", {})
    kv = _resource(KV, "kv", {}, (password, key))
    assert stack_violations("generated-secrets-in-vault", [password, key, kv]) == []
    alone = stack_violations("generated-secrets-in-vault", [password, key])
    assert [urn for urn, _ in alone] == ["urn:pw", "urn:key"]


def test_every_long_running_service_is_scraped() -> None:
    service = _resource(CONTAINER, "svc", SERVICE)
    prometheus = _resource(CONTAINER, "prom-files", {"uploads": [
        {"file": "/etc/vos/prometheus.yml", "content": "targets: ['svc:9100']"}]})  # fmt: skip
    assert stack_violations("every-service-scraped", [service, prometheus]) == []
    assert [u for u, _ in stack_violations("every-service-scraped", [service])] == ["urn:svc"]


@pytest.mark.parametrize("key", ["privileged", "readOnly", "securityOpts", "capabilities"])
def test_an_unknown_value_fails_closed_instead_of_passing(key: str) -> None:
    """What the SDK would downgrade to an advisory 'cannot run during preview' stays a
    violation of the rule itself."""
    props = dict(SERVICE) | {key: rpc.UNKNOWN}
    reported = [
        name for name in ("no-privileged-containers", "read-only-root-filesystem",
                          "no-new-privileges", "drop-all-capabilities")
        if violations(BY_NAME[name], CONTAINER, props, {})
    ]  # fmt: skip
    assert reported, key


def test_every_rule_has_a_case() -> None:
    stack_rules = {"backends-on-isolated-networks", "generated-secrets-in-vault",
                   "every-service-scraped", "apps-use-egress-proxy"}  # fmt: skip
    assert set(BY_NAME) == set(RESOURCE_CASES) | stack_rules
    assert {r.name for r in RULES if r.stack} == stack_rules


def test_metadata_is_complete() -> None:
    assert len(RULES) >= 35 and len(BY_NAME) == len(RULES)
    groups = {"containers", "network", "tls", "credentials", "images", "vault", "observability"}
    groups |= {"egress", "swarm"}
    assert {r.group for r in RULES} == groups
    for rule in RULES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", rule.name), rule.name
        assert rule.description[0].isupper() and rule.description.endswith("."), rule.name
        assert len(rule.remediation) > 15, rule.name
        for key, schema in rule.config.items():
            assert "default" in schema and schema.get("description"), (rule.name, key)


@pytest.mark.parametrize(
    ("props", "config", "found"),
    [
        ({"secret_id_ttl": "2160h", "renew_before_s": 720 * 3600}, {}, None),
        ({"secret_id_ttl": "0", "renew_before_s": 3600}, {}, "never expires"),
        ({"secret_id_ttl": "9000h", "renew_before_s": 3600}, {}, "above 8760 h"),
        ({"secret_id_ttl": "100h", "renew_before_s": 3600}, {"maxHours": 48}, "above 48 h"),
        ({"secret_id_ttl": "24h", "renew_before_s": 24 * 3600}, {}, "never be renewed"),
        ({"secret_id_ttl": "24h", "renew_before_s": 0}, {}, "never be renewed"),
        ({"secret_id_ttl": "24h"}, {}, "never be renewed"),
    ],
)
def test_secret_ids_expire_within_the_limit_and_renew_inside_their_lifetime(
    props: dict[str, Any], config: dict[str, Any], found: str | None
) -> None:
    rule = BY_NAME["approle-secret-id-expires"]
    reported = violations(rule, rule.types[0], props, config)
    if found is None:
        assert reported == []
    else:
        assert any(found in message for message in reported), reported


def test_a_flag_named_like_a_credential_is_no_literal_secret() -> None:
    rule = BY_NAME["no-literal-secrets-in-env"]

    def container(*variables: str) -> dict[str, Any]:
        return {**SERVICE, "envs": list(variables)}

    assert violations(rule, CONTAINER, container("GF_SECURITY_COOKIE_SECURE=true"), {}) == []
    # Controls: a cookie's value, and a password that happens to start like a flag.
    assert violations(rule, CONTAINER, container("RABBITMQ_ERLANG_COOKIE=Xk2m9"), {})
    assert violations(rule, CONTAINER, container("DB_PASSWORD=true-ish9"), {})
