"""Vault: AppRole renewal inside its lifetime, verification on in prod, and what the apps'
sidecars need to reach it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

from stacks.docker_values import HOST_GATEWAY
from stacks.problems import Problem
from stacks.rules.raw import Raw, integer, runs_apps, section, set_hint
from stacks.services import Catalogue
from stacks.values import boolean


def renewal_and_verification(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    ttl = integer(section(raw, "vault").get("secretIdTtlHours", 2160))
    renewal = integer(section(raw, "vault").get("secretIdRenewalHours", 720))
    if ttl is not None and renewal is not None and renewal >= ttl:
        yield Problem(
            ("vault", "secretIdRenewalHours"),
            f"renewal ({renewal} h) must be shorter than vault.secretIdTtlHours ({ttl} h)",
            set_hint(("vault", "secretIdRenewalHours"), f"<hours below {ttl}>"),
        )
    skip = boolean(section(raw, "vault").get("insecureSkipVerify"))
    if raw.get("environment") == "prod" and skip is True:
        yield Problem(
            ("vault", "insecureSkipVerify"),
            "TLS verification of Vault cannot be turned off in prod",
            "pulumi config rm --path 'vos-infra:vault.insecureSkipVerify' and set VAULT_CACERT "
            "to Vault's CA",
        )


def _vault_host_port(raw: Raw) -> tuple[str, int] | None:
    address = section(raw, "vault").get("address")
    if not isinstance(address, str):
        return None
    try:
        parts = urlsplit(address)
        return (parts.hostname or "", parts.port or 443)
    except ValueError:
        return None  # reported by the field rule


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_vault_ports(raw: Raw) -> set[int]:
    found = _vault_host_port(raw)
    if found is None or not (found[0] == HOST_GATEWAY or _is_loopback(found[0])):
        return set()
    return {found[1], found[1] + 1}


def for_apps(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    # On a Swarm no sidecar runs (components/swarm/target.py: the secrets are Swarm secrets),
    # so nothing in a container dials Vault: its image, CA and address are the sidecars'.
    if not runs_apps(raw, catalogue) or raw.get("target") == "swarm":
        return
    vault = section(raw, "vault")
    why = "the app containers' Vault Agent sidecars need it"
    if vault.get("agentImage") is None:
        yield Problem(
            ("vault", "agentImage"),
            f"is required: {why}",
            set_hint(("vault", "agentImage"), "openbao/openbao:<version>"),
        )
    if vault.get("caCertFile") is None:
        yield Problem(
            ("vault", "caCertFile"),
            f"is required: {why} to verify Vault's certificate",
            set_hint(("vault", "caCertFile"), "<PEM file of Vault's CA>"),
        )
    found = _vault_host_port(raw)
    if found is not None and _is_loopback(found[0]):
        yield Problem(
            ("vault", "address"),
            f"'{found[0]}' is the container's own loopback, so no sidecar reaches Vault there; "
            f"a Vault on the Docker host is https://{HOST_GATEWAY}:<port> (the dev Vault "
            "listens there too)",
            set_hint(("vault", "address"), f"https://{HOST_GATEWAY}:{found[1]}"),
        )
