"""Every generated password, API key and signing key of the platform (pulumi-random)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.credentials.specs import CredentialSpec
from stacks import Settings


@dataclass(frozen=True)
class CredentialsArgs:
    settings: Settings
    specs: list[CredentialSpec]


class Credentials(pulumi.ComponentResource):
    """One RandomPassword per CredentialSpec, replaced when its class's counter moves."""

    values: dict[str, pulumi.Output[str]]
    """CredentialSpec.id -> secret value."""

    def __init__(
        self, name: str, args: CredentialsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:security:Credentials", name, None, opts)
        self.specs = {spec.id: spec for spec in args.specs}
        self.values = {}
        for spec in args.specs:
            rotation_class = spec.rotation_class or "none"
            counter = (
                args.settings.rotation.counter(spec.rotation_class) if spec.rotation_class else 0
            )
            password = random.RandomPassword(
                f"{name}-{spec.resource_name}",
                length=spec.length,
                special=False,
                upper=True,
                lower=True,
                numeric=True,
                min_upper=2,
                min_lower=2,
                min_numeric=2,
                # A keeper change replaces the password: that is what rotation is.
                keepers={"rotation": str(counter), "class": rotation_class},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.values[spec.id] = pulumi.Output.secret(password.result)
        self.register_outputs({})
