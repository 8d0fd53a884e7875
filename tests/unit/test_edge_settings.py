"""The edge's settings as an operator writes them: route limits (a literal path prefix, a
rate nginx understands, one limit per path) and CORS origins (exact, never `*` with
credentials, https and exact in prod). Each refusal names the key and the fix before
anything is created."""

from __future__ import annotations

from typing import Any

import pytest

from components.registry import REGISTRY
from stacks import SettingsError, load_settings
from stacks.edge_settings import AUTH_ROUTE
from tests.helpers import stack_overrides


def _problems(environment: str, edge: dict[str, Any]) -> dict[str, str]:
    config = stack_overrides(environment) | {"edge": edge}
    with pytest.raises(SettingsError) as caught:
        load_settings(environment, config, REGISTRY)
    return {p.key: f"{p.message} | {p.fix}" for p in caught.value.problems}


def _settings(environment: str, edge: dict[str, Any]) -> Any:
    return load_settings(environment, stack_overrides(environment) | {"edge": edge}, REGISTRY)


def test_by_default_the_login_routes_are_limited_tighter_and_no_origin_is_allowed() -> None:
    edge = _settings("dev", {}).edge
    assert [(r.path, r.rate) for r in edge.rate_limits] == [(AUTH_ROUTE, "10r/m")]
    assert edge.cors.allowed_origins == []


@pytest.mark.parametrize(
    ("limit", "key", "fragment"),
    [
        ({"path": "api/v1", "rate": "1r/s"}, "path", "path prefix"),
        ({"path": "/api/{x}", "rate": "1r/s"}, "path", "path prefix"),
        ({"path": "/api v1/", "rate": "1r/s"}, "path", "path prefix"),
        ({"path": "/", "rate": "1r/s"}, "path", "path prefix"),  # the overall limit's
        ({"path": "/api/\n", "rate": "1r/s"}, "path", "path prefix"),
        ({"path": "/api/$uri", "rate": "1r/s"}, "path", "path prefix"),
        ({"path": "/api/", "rate": "10/s"}, "rate", "10r/m"),
        ({"path": "/api/", "rate": "0r/s"}, "rate", "10r/m"),
        ({"path": "/api/", "rate": "5r/h"}, "rate", "10r/m"),
        ({"path": "/api/", "rate": "5r/s", "burst": -1}, "burst", "greater than or equal"),
    ],
)
def test_a_route_limit_nginx_could_not_take_is_refused(
    limit: dict[str, Any], key: str, fragment: str
) -> None:
    found = _problems("dev", {"rateLimits": [limit]})
    assert fragment in found[f"vos-infra:edge.rateLimits[0].{key}"]


def test_one_limit_per_path() -> None:
    same = {"path": "/api/", "rate": "5r/s"}
    found = _problems("dev", {"rateLimits": [same, same | {"rate": "1r/s"}]})
    assert "/api/ has a limit already" in found["vos-infra:edge.rateLimits[1].path"]
    assert "pulumi config rm --path 'vos-infra:edge.rateLimits[1]'" in str(found)


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://APP.example.com",
        "app.example.com",
        "https://*.x.com",
        "https://app.example.com\n",
    ],
)
def test_an_origin_is_exactly_what_a_browser_sends(origin: str) -> None:
    found = _problems("dev", {"cors": {"allowedOrigins": [origin]}})
    assert "not a valid origin" in found["vos-infra:edge.cors.allowedOrigins[0]"]


def test_any_origin_with_credentials_is_refused_everywhere() -> None:
    found = _problems("dev", {"cors": {"allowedOrigins": ["*"], "allowCredentials": True}})
    fix = found["vos-infra:edge.cors.allowCredentials"]
    assert "any web page" in fix and "'vos-infra:edge.cors.allowCredentials' false" in fix
    # Without credentials, dev takes it (a local front end on any port).
    assert _settings("dev", {"cors": {"allowedOrigins": ["*"]}}).edge.cors.allowed_origins == ["*"]


def test_prod_takes_exact_https_origins_only_and_says_how() -> None:
    found = _problems(
        "prod", {"cors": {"allowedOrigins": ["https://app.example.com", "*", "http://x.test"]}}
    )
    assert "exact origins only" in found["vos-infra:edge.cors.allowedOrigins[1]"]
    assert (
        "pulumi config set --path 'vos-infra:edge.cors.allowedOrigins[2]' https://x.test"
        in found["vos-infra:edge.cors.allowedOrigins[2]"]
    )
    assert "vos-infra:edge.cors.allowedOrigins[0]" not in found
    settings = _settings("prod", {"cors": {"allowedOrigins": ["https://app.example.com"]}})
    assert settings.edge.cors.allowed_origins == ["https://app.example.com"]


@pytest.mark.parametrize("key", ["allowedMethods", "allowedHeaders"])
def test_a_cors_token_cannot_name_an_nginx_variable(key: str) -> None:
    found = _problems(
        "dev", {"cors": {"allowedOrigins": ["https://a.test"], key: ["$request_uri"]}}
    )
    assert "not a valid" in found[f"vos-infra:edge.cors.{key}[0]"]


def test_a_console_is_served_under_its_own_name_to_the_networks_listed() -> None:
    consoles = {"grafana": {"host": "grafana.example.com", "allowFrom": ["10.1.2.3/8"]}}
    edge = _settings("dev", {"consoles": consoles}).edge
    assert edge.consoles["grafana"].allow_from == ["10.0.0.0/8"]
    assert _settings("dev", {}).edge.consoles == {}


@pytest.mark.parametrize(
    ("console", "key", "fragment"),
    [
        ({"host": "grafana.example.com", "allowFrom": []}, "allowFrom", "at least 1"),
        ({"host": "grafana.example.com", "allowFrom": ["office"]}, "allowFrom[0]", "CIDR"),
        ({"host": "10.0.0.1", "allowFrom": ["10.0.0.0/8"]}, "host", "a DNS name of its own"),
        ({"allowFrom": ["10.0.0.0/8"]}, "host", "required"),
    ],
)
def test_a_console_without_a_name_or_networks_is_refused(
    console: dict[str, Any], key: str, fragment: str
) -> None:
    problems = _problems("dev", {"consoles": {"grafana": console}})
    assert fragment in problems[f"vos-infra:edge.consoles.grafana.{key}"], problems


def test_a_console_the_edge_cannot_serve_is_refused_with_the_fix() -> None:
    jaeger = {"host": "j.example.com", "allowFrom": ["10.0.0.0/8"]}
    problems = _problems("dev", {"consoles": {"jaeger": jaeger}})
    assert "grafana and prometheus" in problems["vos-infra:edge.consoles.jaeger"]
    assert (
        "config rm --path 'vos-infra:edge.consoles.jaeger'"
        in problems["vos-infra:edge.consoles.jaeger"]
    )
    config = stack_overrides("dev")
    services = config.get("services", {})
    grafana = {**services.get("grafana", {}), "enabled": False}
    config |= {"services": {**services, "grafana": grafana},
               "edge": {"consoles": {"grafana": {"host": "g.example.com",
                                                 "allowFrom": ["10.0.0.0/8"]}}}}  # fmt: skip
    with pytest.raises(SettingsError) as caught:
        load_settings("dev", config, REGISTRY)
    found = {p.key: p.fix for p in caught.value.problems}
    assert "services.grafana.enabled' true" in found["vos-infra:edge.consoles.grafana"]


def test_a_console_name_is_its_own_and_prod_lists_the_operators_networks() -> None:
    prod = stack_overrides("prod")
    public = prod["network"]["publicNames"][0]
    consoles = {
        "grafana": {"host": public, "allowFrom": ["0.0.0.0/0"]},
        "prometheus": {"host": "metrics.example.com", "allowFrom": ["::/0"]},
    }
    problems = _problems("prod", {"consoles": consoles})
    assert "already a name of the API" in problems["vos-infra:edge.consoles.grafana.host"]
    for key in ("grafana", "prometheus"):
        assert "not from every address" in problems[f"vos-infra:edge.consoles.{key}.allowFrom"]
    both = {"host": "ops.example.com", "allowFrom": ["10.0.0.0/8"]}
    problems = _problems("prod", {"consoles": {"grafana": both, "prometheus": both}})
    assert "another console" in problems["vos-infra:edge.consoles.prometheus.host"]
    everyone = {"grafana": {"host": "grafana.example.com", "allowFrom": ["0.0.0.0/0"]}}
    assert _settings("dev", {"consoles": everyone}).edge.consoles["grafana"].host
