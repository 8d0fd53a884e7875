"""What a service of the platform is, as every layer sees it: pure data, no Pulumi.

Each service states its whole identity once, in its own package
(`components/<service>/definition.py`): config key, DNS name, ports, what it requires, the
credentials and client certificates it needs, the ones it hands each consumer, its image's
user id, and its component. `components/registry.py` lists the definitions in order; the
settings, the credentials, the PKI, Vault and the assembly all read that one list.

Consumers are the services that call the data services (the API gateway) and every agent:
each gets its own login at each data service it uses (`per_consumer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PASSWORD = 32
API_KEY = 48
SIGNING_KEY = 64

CERTIFICATE_CLASSES = ("ca", "serverCerts", "clientCerts")
"""Rotation classes of the PKI: the CA, every server and every client certificate."""
APPROLE_CLASS = "approle"
"""Rotation class of every service's AppRole secret id."""

Issuer = Literal["platform", "metrics", "readers"]
"""Which of the platform's CAs issues a certificate: `platform` (every server and client
identity), `metrics` (only Prometheus's scrape identity: what metrics endpoints accept) or
`readers` (only Grafana's reader: what the trace and log query paths accept)."""

AGENT_REQUIRES = ("postgres", "rabbitmq", "weaviate")
"""Agents keep history in PostgreSQL, talk over RabbitMQ and remember in Weaviate."""


def credential_id(owner: str, name: str) -> str:
    """How a generated value is named everywhere: `<owner DNS name>/<name>`, which is also
    its place under the stack's Vault folder."""
    return f"{owner}/{name}"


def agent_dns_name(agent_name: str) -> str:
    """`weather` -> `weather-agent`, the seed's `weather_agent` made a valid DNS name."""
    return f"{agent_name}-agent"


@dataclass(frozen=True)
class Credential:
    """A generated value (letters and digits, see components/credentials/specs.py)."""

    name: str
    """Its name under the owner's Vault folder, e.g. `admin-password`."""
    rotation: str | None
    """The `vos-infra:rotation` counter that replaces it; None: generated once, never rotated."""
    length: int
    purpose: str
    rollover_of: str | None = None
    """The credential (same owner) whose value before its last rotation this one holds, so
    both are valid until the next rotation: a rollover with overlap for values that callers
    outside the stack hold (components/credentials/rollover.py)."""


@dataclass(frozen=True)
class ClientCertificate:
    """A client identity the service presents (mutual TLS), issued by the platform CA."""

    name: str
    """Name of the certificate (its PKI resources are pki-<name>-key/-csr/-cert)."""
    common_name: str
    vault_name: str
    """Name of the key bundle under the owner's Vault folder."""
    issuer: Issuer = "platform"
    """`metrics`: issued by the metrics CA, the only CA that metrics endpoints trust;
    `readers`: by the readers CA, the only CA that Jaeger's query API and Loki's read paths
    trust. So no other identity reads them, and Grafana's reader reads no metrics endpoint."""


@dataclass(frozen=True)
class ServiceDefinition:
    key: str
    """Config key under `vos-infra:services` and `network.publishedPorts` (camelCase)."""
    dns_name: str
    """Network alias clients dial, first name of its server certificate, its Vault folder."""
    tls_port: int
    """Port of its main TLS endpoint inside the network (the one a publication exposes)."""
    requires: tuple[str, ...] = ()
    """Keys of the services that must be enabled for this one to work."""
    metrics_port: int | None = None
    image_uid: int | None = None
    """User id its image runs as (its files are owned by it); None until it has a container."""
    credentials: tuple[Credential, ...] = ()
    """Its own generated values."""
    per_consumer: tuple[Credential, ...] = ()
    """Generated for each consumer (the gateway, every agent), under the consumer's folder."""
    per_agent: tuple[Credential, ...] = ()
    """Generated for each agent, under the agent's folder (e.g. the gateway's internal key)."""
    consumer: bool = False
    """Uses the data services with logins of its own (gets every `per_consumer` value)."""
    client_certificates: tuple[ClientCertificate, ...] = ()
    component: str | None = None
    """`module:Class` of its ComponentResource; None while it has no containers yet."""
    restarts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Rotation class -> the containers of this service (resource names) that a rotation of
    that class replaces on purpose, because they read the rotated values at start."""
    borrows_image: str | None = None
    """Key of the service whose image a helper of this one runs (Loki's gate runs the
    edge's nginx): that image must be set whenever this service is enabled, even if that
    service is not."""
    tls_probe: bool = True
    """Its main TLS endpoint answers a bare TLS handshake, which the blackbox exporter probes
    (certificate expiry, protocol). False where it cannot: PostgreSQL starts TLS inside its
    own protocol; an endpoint that demands a client certificate fails it by design."""
    not_published: str | None = None
    """Why `network.publishedPorts` may not name it, and what to publish instead (None: it
    may be published: it has TLS and authentication of its own)."""
    source: str | None = None
    """Project folder with the Dockerfile of its image, where no published image does what it
    needs (the backup service's Barman): dev may build it (`build: {context: <source>}`)
    like the VOS apps; prod pins what the release pipeline built from it."""
    swarm_entry: bool = False
    """On a Swarm, may be published: it keeps no state, so it runs once on every node
    labelled `edge` and publishes there in host mode (components/swarm/placement.py). Only
    the platform's entry is."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "restarts", MappingProxyType(dict(self.restarts)))

    def own(self, name: str) -> str:
        """The id of one of its own credentials."""
        if name not in {c.name for c in self.credentials}:
            raise KeyError(f"{self.key} has no credential {name!r}")
        return credential_id(self.dns_name, name)

    def of_consumer(self, consumer: str) -> str:
        """The id of the login this service generates for a consumer (its only one)."""
        (login,) = self.per_consumer
        return credential_id(consumer, login.name)

    def client_certificate(self, name: str) -> ClientCertificate:
        return next(c for c in self.client_certificates if c.name == name)

    @property
    def rotation_classes(self) -> tuple[str, ...]:
        values = (*self.credentials, *self.per_consumer, *self.per_agent)
        return tuple(dict.fromkeys(c.rotation for c in values if c.rotation))


class Catalogue:
    """The ordered services of the platform, checked for consistency when built."""

    def __init__(self, definitions: Iterable[ServiceDefinition]) -> None:
        self.definitions = tuple(definitions)
        self._by_key = {d.key: d for d in self.definitions}
        problems = []
        for attribute in ("key", "dns_name"):
            values = [getattr(d, attribute) for d in self.definitions]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                problems.append(f"{attribute} used twice: {twice}")
        # Each names a certificate's PKI resources (pki-<name>-key/-csr/-cert): a server's by
        # its DNS name, a client identity by its own name.
        certificates = [d.dns_name for d in self.definitions] + [
            c.name for d in self.definitions for c in d.client_certificates
        ]
        twice = sorted({n for n in certificates if certificates.count(n) > 1})
        if twice:
            problems.append(f"certificate names used twice: {twice}")
        for d in self.definitions:
            unknown = [r for r in (*d.requires, d.borrows_image or d.key) if r not in self._by_key]
            if unknown:
                problems.append(f"{d.key} requires unknown services {unknown}")
        for d in self.definitions:
            for group in (d.credentials, d.per_consumer, d.per_agent):
                rotating = {c.name: c.rotation for c in group}
                problems += [
                    f"{d.key}: {c.name} rolls over {c.rollover_of!r}, which is not a credential "
                    "of the same group and rotation class"
                    for c in group
                    if c.rollover_of and rotating.get(c.rollover_of, "-") != c.rotation
                ]
        overlap = set(self.credential_classes) & set(CERTIFICATE_CLASSES)
        if overlap:
            problems.append(f"credential classes named like certificate classes: {overlap}")
        if problems:
            raise ValueError("inconsistent service catalogue: " + "; ".join(problems))

    def __iter__(self) -> Iterator[ServiceDefinition]:
        return iter(self.definitions)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: str) -> ServiceDefinition:
        return self._by_key[key]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._by_key)

    @property
    def credential_classes(self) -> tuple[str, ...]:
        found = [c for d in self.definitions for c in d.rotation_classes]
        return tuple(dict.fromkeys([*found, APPROLE_CLASS]))

    @property
    def rotation_classes(self) -> tuple[str, ...]:
        """Every `vos-infra:rotation` counter, whether or not its services are enabled."""
        return (*self.credential_classes, *CERTIFICATE_CLASSES)

    @property
    def reserved_names(self) -> frozenset[str]:
        """Names an agent may not take: they would collide on the network or in Vault."""
        return frozenset(d.dns_name for d in self.definitions) | {"vault", "admin"}
