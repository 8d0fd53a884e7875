"""Which credentials the platform needs, for whom, and with what shape. Pure data.

Every value is generated (never typed by a person, never a default in code). The alphabet
is letters and digits only: such a value needs no quoting or escaping in a connection URL,
an INI/conf file, an env file or a comma-separated list (Weaviate's API-key list), so one
rule serves every place a credential lands. Lengths give at least 190 bits of entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.credentials import rollover
from stacks import Settings
from stacks.services import credential_id


@dataclass(frozen=True)
class CredentialSpec:
    service: str
    """DNS name of the service that uses the credential: its Vault path owner."""
    name: str
    rotation_class: str | None
    """The `vos-infra:rotation` counter that replaces it; None for a first-start-only value."""
    length: int
    purpose: str
    rollover_of: str | None = None
    """The credential of the same service whose replaced value this one holds."""

    @property
    def resource_name(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def id(self) -> str:
        return credential_id(self.service, self.name)


def credential_specs(settings: Settings) -> list[CredentialSpec]:
    """Every enabled service's own values, the ones it generates for each consumer (the
    gateway, every agent) and for each agent, in catalogue order."""
    specs: list[CredentialSpec] = []
    consumers = settings.consumers()
    agents = [agent.dns_name for agent in settings.agents]
    for definition in settings.enabled_services():
        owned = [(definition.dns_name, c) for c in definition.credentials]
        owned += [(consumer, c) for consumer in consumers for c in definition.per_consumer]
        owned += [(agent, c) for agent in agents for c in definition.per_agent]
        specs += [
            CredentialSpec(owner, c.name, c.rotation, c.length, c.purpose, c.rollover_of)
            for owner, c in owned
        ]
    return specs


def rollover_partners(specs: list[CredentialSpec]) -> dict[str, CredentialSpec]:
    """The id of each credential that rolls over -> the spec holding its previous value."""
    return {credential_id(s.service, s.rollover_of): s for s in specs if s.rollover_of}


def password_resources(specs: list[CredentialSpec]) -> dict[str, CredentialSpec]:
    """Each generated value's resource name (under the Credentials component's name) -> the
    spec it is generated for: one per credential, two slots for one that rolls over
    (rollover.py) and none for the spec holding its previous value."""
    partners = rollover_partners(specs)
    found: dict[str, CredentialSpec] = {}
    for spec in specs:
        if spec.rollover_of:
            continue
        if spec.id in partners:
            found |= {f"{spec.resource_name}-slot-{slot}": spec for slot in rollover.SLOTS}
        else:
            found[spec.resource_name] = spec
    return found
