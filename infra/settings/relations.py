"""Rules that relate several settings to each other.

They run on the merged raw values (profile + stack config) rather than on the validated
model, so they are reported in the same batch as single-field problems: an operator fixes
everything in one round. Values of the wrong type are skipped here; the field rules already
report them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.settings.images import parse_image, project_path
from infra.settings.problems import Problem, config_key
from infra.settings.services import AGENT_REQUIRES, Catalogue, agent_dns_name
from infra.settings.values import boolean

Raw = Mapping[str, Any]


def _map(raw: Any, key: str) -> Raw:
    value = raw.get(key) if isinstance(raw, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _enabled(services: Raw, key: str) -> bool:
    """Read as the field rule reads it."""
    return boolean(_map(services, key).get("enabled")) is True


def _unreadable(services: Raw, key: str) -> bool:
    """`enabled` is set but not a boolean: the field rule reports it, and no rule here may
    add follow-on problems from a guess at what it meant."""
    value = _map(services, key).get("enabled")
    return value is not None and boolean(value) is None


def check_relations(raw: Raw, catalogue: Catalogue) -> list[Problem]:
    return [
        *_prod_digests(raw, catalogue),
        *_image_sources(raw, catalogue),
        *_tls_windows(raw),
        *_service_dependencies(raw, catalogue),
        *_agents(raw, catalogue),
        *_published_ports(raw, catalogue),
        *_vault(raw),
        *_vault_for_apps(raw, catalogue),
        *_backend(raw),
        *_receivers(raw),
    ]


RECEIVER_FIELDS = {"email": ("to", "sender", "smarthost", "username"), "slack": ("channel",)}
"""What each receiver type needs besides its secret (the field rule knows the types)."""
BUILT_IN_RECEIVERS = ("platform", "watchdog")
"""Alertmanager's own receivers (components/alertmanager/files.py): no configured one may
take their names."""


def _receivers(raw: Raw) -> Iterator[Problem]:
    receivers = _map(raw, "alerting").get("receivers")
    if not isinstance(receivers, list) or not receivers:
        return
    if not _enabled(_map(raw, "services"), "alertmanager"):
        yield Problem(
            ("alerting", "receivers"),
            "are set but alertmanager, which sends to them, is disabled",
            _set(("services", "alertmanager", "enabled"), "true"),
        )
    names = [r.get("name") for r in receivers if isinstance(r, Mapping)]
    for i, receiver in enumerate(receivers):
        if not isinstance(receiver, Mapping):
            continue
        if receiver.get("name") in BUILT_IN_RECEIVERS:
            yield Problem(
                ("alerting", "receivers", i, "name"),
                f"{receiver.get('name')!r} is a receiver of Alertmanager's own",
                _set(("alerting", "receivers", i, "name"), "<another name>"),
            )
        if names.count(receiver.get("name")) > 1:
            yield Problem(
                ("alerting", "receivers", i, "name"),
                f"{receiver.get('name')!r} names two receivers",
                _set(("alerting", "receivers", i, "name"), "<another name>"),
            )
        for field in RECEIVER_FIELDS.get(str(receiver.get("type")), ()):
            if not receiver.get(field):
                yield Problem(
                    ("alerting", "receivers", i, field),
                    f"is required for a {receiver.get('type')} receiver",
                    _set(("alerting", "receivers", i, field), "<value>"),
                )


def _set(path: tuple[str | int, ...], hint: str) -> str:
    return f"pulumi config set --path '{config_key(path)}' {hint}"


def _prod_digests(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if raw.get("environment") != "prod":
        return
    images: list[tuple[tuple[str | int, ...], Any]] = []
    services = _map(raw, "services")
    for key in catalogue.keys:
        if _enabled(services, key):
            images.append((("services", key, "image"), _map(services, key).get("image")))
    agents = raw.get("agents")
    if isinstance(agents, list):
        for i, agent in enumerate(agents):
            if isinstance(agent, Mapping):
                images.append((("agents", i, "image"), agent.get("image")))
    if _apps(raw, catalogue):
        images.append((("vault", "agentImage"), _map(raw, "vault").get("agentImage")))
    for path, image in images:
        if not isinstance(image, str):
            continue
        try:
            pinned = parse_image(image).pinned_by_digest
        except ValueError:
            continue  # reported by the field rule
        if not pinned:
            yield Problem(
                path,
                f"prod accepts only images pinned by digest, got '{image}'",
                _set(path, "'<repository>:<tag>@sha256:<digest>'")
                + " (docker buildx imagetools inspect <repository>:<tag> prints the digest)",
            )


def _runners(raw: Raw, catalogue: Catalogue) -> Iterator[tuple[tuple[str | int, ...], Raw, bool]]:
    """(config path, raw settings, is a VOS app) of every enabled service, of every service
    whose image an enabled one borrows, and of every agent."""
    services = _map(raw, "services")
    borrowed = {d.borrows_image for d in catalogue if d.borrows_image and _enabled(services, d.key)}
    for definition in catalogue:
        if _enabled(services, definition.key) or definition.key in borrowed:
            yield ("services", definition.key), _map(services, definition.key), definition.consumer
    agents = raw.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        if isinstance(agent, Mapping):
            yield ("agents", i), agent, True


def _image_sources(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    """Each container runs exactly one of: a published image, or (a VOS app, dev only) an
    image built from a source folder on the Docker host."""
    for path, values, app in _runners(raw, catalogue):
        image, build = values.get("image"), values.get("build")
        if image is None and build is None:
            yield Problem(
                (*path, "image"),
                "is required but not set" + (" (or build, to build it from source)" if app else ""),
                _set((*path, "image"), "<repository>:<tag>"),
            )
            continue
        if build is None:
            continue
        if image is not None:
            yield Problem(
                (*path, "build"),
                "is set together with image: set one of them",
                f"pulumi config rm --path '{config_key((*path, 'build'))}' or "
                f"pulumi config rm --path '{config_key((*path, 'image'))}'",
            )
        if not app:
            yield Problem(
                (*path, "build"),
                f"{path[-1]} runs its published image; only the VOS apps (the gateway, the "
                "agents) are built from source",
                f"pulumi config rm --path '{config_key((*path, 'build'))}'",
            )
        elif raw.get("environment") == "prod":
            yield Problem(
                (*path, "build"),
                "prod runs only images pinned by digest, never a local build: build and push "
                "the image in the release pipeline, then pin it",
                _set((*path, "image"), "'<repository>:<tag>@sha256:<digest>'")
                + f" and pulumi config rm --path '{config_key((*path, 'build'))}'",
            )
        if isinstance(build, Mapping):
            yield from _build_context(path, build)


def _build_context(path: tuple[str | int, ...], build: Raw) -> Iterator[Problem]:
    context, dockerfile = build.get("context"), build.get("dockerfile", "Dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str):
        return  # the field rules report it
    folder = project_path(context)
    if not folder.is_dir():
        yield Problem(
            (*path, "build", "context"),
            f"'{context}' is not a folder ({folder}); relative paths are from the project "
            "directory",
            _set((*path, "build", "context"), "<folder with the Dockerfile>"),
        )
    elif not (folder / dockerfile).is_file() or ".." in Path(dockerfile).parts:
        yield Problem(
            (*path, "build", "dockerfile"),
            f"'{dockerfile}' is not a file inside the build context {folder}",
            _set((*path, "build", "dockerfile"), "<path of the Dockerfile inside the context>"),
        )


def _tls_windows(raw: Raw) -> Iterator[Problem]:
    tls = _map(raw, "tls")
    pairs = (
        ("caEarlyRenewalHours", "caValidityHours"),
        ("earlyRenewalHours", "validityHours"),
    )
    for early_key, validity_key in pairs:
        early, validity = _int(tls.get(early_key)), _int(tls.get(validity_key))
        if early is not None and validity is not None and early >= validity:
            yield Problem(
                ("tls", early_key),
                f"early renewal ({early} h) must be shorter than tls.{validity_key} ({validity} h)",
                _set(("tls", early_key), f"<hours below {validity}>"),
            )
    leaf, ca = _int(tls.get("validityHours")), _int(tls.get("caValidityHours"))
    if leaf is not None and ca is not None and leaf > ca:
        yield Problem(
            ("tls", "validityHours"),
            f"leaf certificates ({leaf} h) cannot outlive the CA (tls.caValidityHours = {ca} h)",
            _set(("tls", "validityHours"), f"<hours up to {ca}>"),
        )


def _service_dependencies(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    services = _map(raw, "services")
    for definition in catalogue:
        key = definition.key
        if not _enabled(services, key):
            continue
        for needed in definition.requires:
            if not _enabled(services, needed) and not _unreadable(services, needed):
                yield Problem(
                    ("services", key, "enabled"),
                    f"{key} needs {needed}, which is disabled",
                    _set(("services", needed, "enabled"), "true")
                    + f" or {_set(('services', key, 'enabled'), 'false')}",
                )


def _agents(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    agents = raw.get("agents")
    if not isinstance(agents, list):
        return
    services = _map(raw, "services")
    if agents:
        for needed in AGENT_REQUIRES:
            if not _enabled(services, needed) and not _unreadable(services, needed):
                yield Problem(
                    ("services", needed, "enabled"),
                    f"agents need {needed}, which is disabled",
                    _set(("services", needed, "enabled"), "true")
                    + " or remove the agents from vos-infra:agents",
                )
    seen: dict[str, int] = {}
    for i, agent in enumerate(agents):
        name = agent.get("name") if isinstance(agent, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            yield Problem(
                ("agents", i, "name"),
                f"agent '{name}' is declared twice (also at agents[{seen[name]}]);"
                " each agent has its own identity",
                f"rename or remove one: {_set(('agents', i, 'name'), '<unique name>')}",
            )
        else:
            seen[name] = i
        reserved = catalogue.reserved_names
        if name in reserved or agent_dns_name(name) in reserved:
            yield Problem(
                ("agents", i, "name"),
                f"agent name '{name}' collides with a platform service name",
                _set(("agents", i, "name"), "<another name>"),
            )


def _published_ports(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    published = _map(_map(raw, "network"), "publishedPorts")
    services = _map(raw, "services")
    owners: dict[int, str] = {}
    for key, port_value in published.items():
        path: tuple[str | int, ...] = ("network", "publishedPorts", key)
        if key not in catalogue:
            yield Problem(
                path,
                f"'{key}' is not a service of the platform ({', '.join(catalogue.keys)})",
                f"pulumi config rm --path '{config_key(path)}'",
            )
            continue
        refusal = catalogue.get(key).not_published
        if refusal:
            yield Problem(
                path,
                f"{key} may not be published: {refusal}",
                f"pulumi config rm --path '{config_key(path)}'",
            )
            continue
        if not _enabled(services, key) and not _unreadable(services, key):
            yield Problem(
                path,
                f"{key} is published but disabled",
                f"pulumi config rm --path '{config_key(path)}' (a null there in "
                "Pulumi.<stack>.yaml removes the profile's entry)"
                f" or {_set(('services', key, 'enabled'), 'true')}",
            )
        port = _int(port_value)
        if port is None:
            continue
        if port in owners:
            yield Problem(
                path,
                f"host port {port} is already published for {owners[port]}",
                _set(path, "<a free port>"),
            )
        elif port in _local_vault_ports(raw):
            yield Problem(
                path,
                f"host port {port} is taken by the Vault on this host (vault.address; the "
                "embedded dev Vault listens on its port and the next one)",
                _set(path, "<a free port>"),
            )
        else:
            owners[port] = key


def _vault(raw: Raw) -> Iterator[Problem]:
    ttl = _int(_map(raw, "vault").get("secretIdTtlHours", 2160))
    renewal = _int(_map(raw, "vault").get("secretIdRenewalHours", 720))
    if ttl is not None and renewal is not None and renewal >= ttl:
        yield Problem(
            ("vault", "secretIdRenewalHours"),
            f"renewal ({renewal} h) must be shorter than vault.secretIdTtlHours ({ttl} h)",
            _set(("vault", "secretIdRenewalHours"), f"<hours below {ttl}>"),
        )
    skip = boolean(_map(raw, "vault").get("insecureSkipVerify"))
    if raw.get("environment") == "prod" and skip is True:
        yield Problem(
            ("vault", "insecureSkipVerify"),
            "TLS verification of Vault cannot be turned off in prod",
            "pulumi config rm --path 'vos-infra:vault.insecureSkipVerify' and set VAULT_CACERT "
            "to Vault's CA",
        )


HOST_GATEWAY = "host.docker.internal"
"""How a container names the Docker host (`--add-host host.docker.internal:host-gateway`):
the dev Vault's address for the apps' sidecars (infra/dev_vault.py listens there)."""


def _apps(raw: Raw, catalogue: Catalogue) -> bool:
    """Whether any app container runs (an enabled consumer service or any agent): each has a
    Vault Agent sidecar, which needs Vault's address, CA and image."""
    agents = raw.get("agents")
    services = _map(raw, "services")
    consumers = [d.key for d in catalogue if d.consumer]
    return bool(isinstance(agents, list) and agents) or any(
        _enabled(services, key) for key in consumers
    )


def _vault_host_port(raw: Raw) -> tuple[str, int] | None:
    address = _map(raw, "vault").get("address")
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


def _local_vault_ports(raw: Raw) -> set[int]:
    found = _vault_host_port(raw)
    if found is None or not (found[0] == HOST_GATEWAY or _is_loopback(found[0])):
        return set()
    return {found[1], found[1] + 1}


def _vault_for_apps(raw: Raw, catalogue: Catalogue) -> Iterator[Problem]:
    if not _apps(raw, catalogue):
        return
    vault = _map(raw, "vault")
    why = "the app containers' Vault Agent sidecars need it"
    if vault.get("agentImage") is None:
        yield Problem(
            ("vault", "agentImage"),
            f"is required: {why}",
            _set(("vault", "agentImage"), "openbao/openbao:<version>"),
        )
    if vault.get("caCertFile") is None:
        yield Problem(
            ("vault", "caCertFile"),
            f"is required: {why} to verify Vault's certificate",
            _set(("vault", "caCertFile"), "<PEM file of Vault's CA>"),
        )
    found = _vault_host_port(raw)
    if found is not None and _is_loopback(found[0]):
        yield Problem(
            ("vault", "address"),
            f"'{found[0]}' is the container's own loopback, so no sidecar reaches Vault there; "
            f"a Vault on the Docker host is https://{HOST_GATEWAY}:<port> (the dev Vault "
            "listens there too)",
            _set(("vault", "address"), f"https://{HOST_GATEWAY}:{found[1]}"),
        )


def _backend(raw: Raw) -> Iterator[Problem]:
    if raw.get("environment") == "prod" and not isinstance(raw.get("backend"), Mapping):
        yield Problem(
            ("backend",),
            "is required in prod: the team's state lives in S3 with KMS-encrypted secrets",
            "pulumi config set --path 'vos-infra:backend.bucket' <bucket>; likewise "
            "backend.region and backend.kmsAlias (then: vos-infra backend bootstrap)",
        )
