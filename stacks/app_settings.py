"""What an operator gives one app (the gateway, an agent) beyond its image and limits: the
outside hosts it may reach, the secrets it is supplied, its plain settings; and error
tracking, which every app gets. Pure, like the rest of the settings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from stacks import operator_secrets
from stacks.egress import Destination, parse_destination
from stacks.fields import EgressEntry, Model


def _secret_name(value: str) -> str:
    problem = operator_secrets.name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _setting_name(value: str) -> str:
    problem = operator_secrets.setting_problem(value)
    if problem and operator_secrets.CREDENTIAL_LIKE.search(value):
        raise ValueError(f"{problem}: give it under `secrets` instead, set with --secret")
    if problem:
        raise ValueError(problem)
    return value


class AppSettings(Model):
    """What an app (the gateway, an agent) may reach outside the stack, the secrets the
    operator supplies it (stacks/operator_secrets.py) and its plain settings."""

    egress: list[EgressEntry] = Field(
        default=[],
        max_length=50,
        description="outside hosts the app may reach through the egress proxy (host or host:port)",
    )

    secrets: dict[Annotated[str, AfterValidator(_secret_name)], str] = Field(
        default={},
        max_length=50,
        description="NAME -> value, set with `pulumi config set --secret`; the app reads "
        "<NAME>_FILE",
    )

    env: dict[Annotated[str, AfterValidator(_setting_name)], str] = Field(
        default={},
        max_length=50,
        description="NAME -> value: plain settings (e.g. MAX_CONVERSATION_MESSAGES); never a "
        "credential (secrets)",
    )

    replicas: int = Field(
        default=1,
        ge=1,
        le=100,
        description="tasks of the app on a Swarm (target: swarm); a single host runs one",
    )

    @property
    def destinations(self) -> list[Destination]:
        return list(dict.fromkeys(parse_destination(entry) for entry in self.egress))


def _dsn(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or not parts.username:
        raise ValueError(
            "is not a Sentry DSN (https://<public key>@<host>/<project id>, from the project's "
            "Client Keys page)"
        )
    parse_destination(f"{parts.hostname}:{parts.port or 443}")
    return value


class ErrorTrackingSettings(Model):
    """Error tracking for every app: its DSN is a Pulumi secret, kept in Vault and handed to
    each app as SENTRY_DSN_FILE; its host joins every app's egress allow-list."""

    sentry_dsn: Annotated[str, AfterValidator(_dsn)] = Field(
        description="the Sentry DSN, set with `pulumi config set --secret`"
    )

    @property
    def destination(self) -> Destination:
        parts = urlsplit(self.sentry_dsn)
        return parse_destination(f"{parts.hostname}:{parts.port or 443}")
