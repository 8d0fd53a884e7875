"""Which certificates the platform issues, with which names and usages. Pure data.

A server certificate's SANs are exactly the names clients dial: the service's network alias
and its container name; localhost/127.0.0.1/::1 and the stack's public names only for
services published on the host, and localhost only where the settings ask for it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from stacks import Settings
from stacks.services import Issuer

Usage = Literal["server", "client"]


@dataclass(frozen=True)
class CertSpec:
    name: str
    common_name: str
    usage: Usage
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    owner: str = ""
    """The service that uses the key (its Vault path owner); defaults to `name`."""
    vault_name: str = "tls"
    """Name of the key bundle under the owner's Vault path."""
    issuer: Issuer = "platform"

    @property
    def owner_service(self) -> str:
        return self.owner or self.name

    @property
    def rotation_class(self) -> str:
        return "serverCerts" if self.usage == "server" else "clientCerts"


@dataclass(frozen=True)
class KeySpec:
    algorithm: Literal["ECDSA", "RSA"]
    ecdsa_curve: str | None
    rsa_bits: int | None


def ca_common_name(stack: str, issuer: Issuer) -> str:
    """The common name of a stack's CA (what a TLS peer sees as the issuer's CN)."""
    return f"VOS {stack} CA" if issuer == "platform" else f"VOS {stack} {issuer} CA"


def key_spec(key_algorithm: str) -> KeySpec:
    if key_algorithm == "ECDSA-P256":
        return KeySpec("ECDSA", "P256", None)
    bits = int(key_algorithm.removeprefix("RSA-"))
    return KeySpec("RSA", None, bits)


def allowed_uses(usage: Usage | Literal["ca"], key: KeySpec) -> list[str]:
    if usage == "ca":
        return ["cert_signing", "crl_signing", "digital_signature"]
    uses = ["digital_signature"]
    if key.algorithm == "RSA":
        uses.append("key_encipherment")  # TLS 1.2 RSA key transport
    uses.append("server_auth" if usage == "server" else "client_auth")
    return uses


def _names_for(
    settings: Settings, dns_name: str, published: bool, extra: tuple[str, ...] = ()
) -> CertSpec:
    dns = [dns_name, f"{settings.name_prefix}-{dns_name}", *extra]
    ips: list[str] = []
    if published:
        if settings.tls.localhost_sans:
            dns.append("localhost")
            ips += ["127.0.0.1", "::1"]
        for name in settings.network.public_names:
            try:
                ips.append(str(ipaddress.ip_address(name)))
            except ValueError:
                dns.append(name)
    return CertSpec(
        name=dns_name,
        common_name=dns_name,
        usage="server",
        dns_names=tuple(dict.fromkeys(dns)),
        ip_addresses=tuple(dict.fromkeys(ips)),
    )


def certificate_specs(settings: Settings) -> list[CertSpec]:
    """A server certificate per enabled service and per agent, then the client identities
    the enabled services present (owned by them in Vault)."""
    enabled = settings.enabled_services()
    # The edge also answers under the names of the consoles it serves (edge.consoles).
    consoles = tuple(c.host for c in settings.edge.consoles.values())
    specs = [
        _names_for(
            settings, d.dns_name, settings.is_published(d.key), consoles if d.key == "edge" else ()
        )
        for d in enabled
    ]
    specs += [_names_for(settings, agent.dns_name, False) for agent in settings.agents]
    specs += [
        CertSpec(
            c.name,
            c.common_name,
            "client",
            owner=d.dns_name,
            vault_name=c.vault_name,
            issuer=c.issuer,
        )
        for d in enabled
        for c in d.client_certificates
    ]
    # Each agent's client identity, like the gateway's (its definition declares it).
    specs += [
        CertSpec(
            f"{a.dns_name}-client", a.dns_name, "client", owner=a.dns_name, vault_name="client-tls"
        )
        for a in settings.agents
    ]
    return specs
