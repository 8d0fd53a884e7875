"""Every generated password, API key and signing key of the platform (pulumi-random)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.credentials import rollover
from components.credentials.specs import CredentialSpec, rollover_partners
from stacks import Settings


@dataclass(frozen=True)
class CredentialsArgs:
    settings: Settings
    specs: list[CredentialSpec]


class Credentials(pulumi.ComponentResource):
    """One RandomPassword per CredentialSpec, replaced when its class's counter moves; a
    credential with a rollover partner has two slots instead (rollover.py), one replaced
    per rotation."""

    values: dict[str, pulumi.Output[str]]
    """CredentialSpec.id -> secret value."""

    def __init__(
        self, name: str, args: CredentialsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:security:Credentials", name, None, opts)
        self.name = name
        self.specs = {spec.id: spec for spec in args.specs}
        self.values = {}
        partners = rollover_partners(args.specs)
        for spec in args.specs:
            counter = (
                args.settings.rotation.counter(spec.rotation_class) if spec.rotation_class else 0
            )
            if spec.rollover_of:
                continue  # its value is a slot of the credential it rolls over
            if spec.id not in partners:
                self.values[spec.id] = self._password(spec, spec.resource_name, str(counter))
                continue
            slots = {
                slot: self._password(
                    spec, f"{spec.resource_name}-slot-{slot}", str(rollover.keeper(slot, counter))
                )
                for slot in rollover.SLOTS
            }
            self.values[spec.id] = slots[rollover.current(counter)]
            self.values[partners[spec.id].id] = slots[rollover.previous(counter)]
        self.register_outputs({})

    def _password(self, spec: CredentialSpec, resource: str, keeper: str) -> pulumi.Output[str]:
        password = random.RandomPassword(
            f"{self.name}-{resource}",
            length=spec.length,
            special=False,
            upper=True,
            lower=True,
            numeric=True,
            min_upper=2,
            min_lower=2,
            min_numeric=2,
            # A keeper change replaces the password: that is what rotation is.
            keepers={"rotation": keeper, "class": spec.rotation_class or "none"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.secret(password.result)
