"""The apps' way out, as the program declares it: the egress proxy alone on the one network
with a route out besides the Vault sidecars', every app told to use it for everything but
the stack's own names, and the proxy only when the settings enable it."""

from __future__ import annotations

from urllib.parse import urlsplit

from components.app.containers import sidecar_name
from components.app.inputs import apps
from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from tests.helpers import config_with, profile
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate

NETWORK = "docker:index/network:Network"


def _outbound_networks(evaluation: Evaluation) -> set[str]:
    return {
        str(r.inputs["name"]) for r in evaluation.of_type(NETWORK) if not r.inputs.get("internal")
    }


def test_only_the_proxy_and_the_sidecars_sit_on_a_network_with_a_route_out(dev: Evaluation) -> None:
    outbound = _outbound_networks(dev)
    assert outbound == {"vos-dev-edge", "vos-dev-vault", "vos-dev-egress"}
    sidecars = {sidecar_name(app) for app in apps(dev.result.settings)}
    published = {"edge", "grafana", "prometheus"}  # their published ports need the edge network
    for service, container in containers(dev).items():
        joined = {str(n["name"]) for n in container.networks} & outbound
        if service == EGRESS_PROXY.dns_name:
            assert joined == {"vos-dev-egress"}
        elif service in sidecars:
            assert joined == {"vos-dev-vault"}, service
        elif service in published:
            assert joined == {"vos-dev-edge"}, service
        else:
            assert joined == set(), service


def test_every_app_goes_out_through_the_proxy_and_reaches_the_stack_directly(
    dev: Evaluation,
) -> None:
    settings = dev.result.settings
    rendered = containers(dev)
    internal = {d.dns_name for d in settings.enabled_services()} | {
        a.dns_name for a in settings.agents
    }
    for app in apps(settings):
        env = rendered[app.dns_name].env
        proxy = urlsplit(env["HTTPS_PROXY"])
        assert (proxy.scheme, proxy.hostname, proxy.port) == (
            "https", EGRESS_PROXY.dns_name, EGRESS_PROXY.tls_port,
        ), app  # fmt: skip
        assert env["https_proxy"] == env["HTTPS_PROXY"] and env["no_proxy"] == env["NO_PROXY"]
        direct = set(env["NO_PROXY"].split(","))
        assert internal <= direct, internal - direct
        outside = {d.host for d in settings.destinations(app.dns_name)}
        assert not outside & direct, app


def test_without_the_proxy_there_is_no_way_out_and_no_proxy_to_name() -> None:
    agents = [{k: v for k, v in a.items() if k != "egress"} for a in profile("dev")["agents"]]
    services = {"egressProxy": {"enabled": False}}
    evaluation = evaluate("dev", config_with("dev", agents=agents, services=services))
    assert "vos-dev-egress" not in _outbound_networks(evaluation)
    rendered = containers(evaluation)
    assert EGRESS_PROXY.dns_name not in rendered
    for app in apps(evaluation.result.settings):
        assert "HTTPS_PROXY" not in rendered[app.dns_name].env, app
