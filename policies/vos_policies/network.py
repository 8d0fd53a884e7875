"""Network exposure: what reaches the host, on which address, and which networks the
backends live on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import Severity

from vos_policies.docker_props import number, ports, service
from vos_policies.rule import (
    CONTAINER,
    NETWORK,
    UNKNOWN,
    Rule,
    StackSubject,
    Subject,
    elements,
    get,
    list_setting,
)

INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"


def _published(c: Subject) -> list[Any]:
    return [p for p in ports(c) if p is UNKNOWN or get(p, "external") is not None]


def _bound(c: Subject) -> Iterator[str]:
    for port in _published(c):
        ip = get(port, "ip", "0.0.0.0")  # noqa: S104 (the provider's default when absent)
        if ip in (UNKNOWN, "", "0.0.0.0", "::", "[::]"):  # noqa: S104
            yield f"host port {get(port, 'external')} is bound to every interface ({ip!r})"


def _tls_only(c: Subject) -> Iterator[str]:
    allowed = {int(p) for p in c.config["tlsPorts"]}
    for port in _published(c):
        internal = number(get(port, "internal"))
        if internal is None or int(internal) not in allowed:
            yield (
                f"container port {get(port, 'internal')} is published; only TLS ports "
                f"{sorted(allowed)} may reach the host"
            )


def _backends(c: Subject) -> Iterator[str]:
    if service(c) in set(c.config["backends"]) and _published(c):
        yield f"{service(c)} is a backend and publishes a host port"


def _privileged_ports(c: Subject) -> Iterator[str]:
    allowed = {int(p) for p in c.config["allowedPrivilegedPorts"]}
    for port in _published(c):
        external = number(get(port, "external"))
        if external is None or (external < 1024 and int(external) not in allowed):
            yield f"host port {get(port, 'external')} is a privileged port"


VAULT_AGENT_ROLE = "vault-agent"
"""`vos.role` of an app's Vault Agent sidecar (components/docker/spec.py)."""
EGRESS_PROXY_ROLE = "egress-proxy"
"""`vos.role` of the apps' egress proxy (components/docker/spec.py)."""


def _internal_only(stack: StackSubject) -> Iterator[tuple[str, str]]:
    """A container that publishes nothing lives only on internal networks without an
    address on the host side (docs/ARCHITECTURE.md, Networks). Two exceptions: a Vault
    Agent sidecar (Vault is outside the stack) joins the way out to Vault and nothing else,
    so it bridges no internal network to the outside; the egress proxy joins exactly one
    network that is not isolated, its way out, beside the internal ones it serves."""
    isolated = set()
    for network in stack.of_type(NETWORK):
        props = network.props
        options = get(props, "options", {}) or {}
        if get(props, "internal") is True and get(options, INHIBIT_IPV4) == "true":
            isolated.add(get(props, "name"))
    for container in stack.of_type(CONTAINER):
        props = container.props
        if get(props, "start", True) is False or get(props, "ports"):
            continue
        joined = [get(a, "name") for a in get(props, "networksAdvanced", []) or []]
        roles = [
            get(x, "value")
            for x in elements(get(props, "labels"))
            if x is not UNKNOWN and get(x, "label") == "vos.role"
        ]
        if roles == [VAULT_AGENT_ROLE]:
            if len(joined) != 1 or joined[0] in isolated:
                yield (
                    container.urn,
                    f"{container.name} is a Vault Agent sidecar on networks {joined}: it joins "
                    "exactly one network, the way out to Vault, and no internal one",
                )
            continue
        if roles == [EGRESS_PROXY_ROLE]:
            outward = [name for name in joined if name not in isolated]
            if len(outward) != 1:
                yield (
                    container.urn,
                    f"{container.name} is the egress proxy on networks {joined}: it joins "
                    "exactly one network with a way out, its own, besides internal ones",
                )
            continue
        for name in joined:
            if name not in isolated:
                yield (
                    container.urn,
                    f"{container.name} publishes nothing but joins network {name!r}, which "
                    "is not internal with no host-side address",
                )


RULES = [
    Rule("published-ports-on-bind-address", "network", "A published port is bound to one "
         "host address, never to every interface.", "Set network.bindAddress (the port's "
         "`ip`) to the address clients use.", Severity.HIGH, _bound, (CONTAINER,)),
    Rule("published-ports-are-tls", "network", "Only TLS endpoints are published on the host.",
         "Publish the service's TLS port only (network.publishedPorts); put plaintext UIs "
         "behind the TLS edge.", Severity.CRITICAL, _tls_only, (CONTAINER,),
         {"tlsPorts": list_setting("container ports that speak TLS",
                                   [8443, 5671, 9090, 9093, 3000, 3100, 12345, 16686],
                                   items="integer")}),
    Rule("no-backend-published", "network", "Backends (databases, broker, vector store, log "
         "store) are never published on the host.", "Remove the service from "
         "network.publishedPorts; clients reach it on the internal network.", Severity.CRITICAL,
         _backends, (CONTAINER,),
         {"backends": list_setting("services that must never be published",
                                   ["postgres", "rabbitmq", "weaviate", "loki", "alloy"])}),
    Rule("no-privileged-host-ports", "network", "Published host ports are unprivileged "
         "(1024 and up) unless allow-listed.", "Pick a host port of 1024 or more, or "
         "allow-list it in allowedPrivilegedPorts.", Severity.MEDIUM, _privileged_ports,
         (CONTAINER,), {"allowedPrivilegedPorts": list_setting("privileged ports allowed", [],
                                                               items="integer")}),
    Rule("backends-on-isolated-networks", "network", "Containers that publish nothing join "
         "only internal networks with no host-side address; a Vault Agent sidecar joins only "
         "the way out to Vault; the egress proxy one way out besides internal networks.",
         "Attach them to the stack's backend network only (internal, "
         "com.docker.network.bridge.inhibit_ipv4); a sidecar to the vault network only; the "
         "egress proxy to the egress network and internal ones.",
         Severity.HIGH, _internal_only),
]  # fmt: skip
