"""The value types of the settings (validated fields) and the base every settings model
shares: camelCase aliases, unknown keys refused, frozen. Pure, like the models."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from stacks.docker_values import cpus_problem
from stacks.egress import parse_destination
from stacks.images import parse_image
from stacks.values import strict_boolean

AGENT_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
MOUNT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PATH_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*$")


def _image(value: str) -> str:
    parse_image(value)
    return value


def agent_name(value: str) -> str:
    if not AGENT_NAME.match(value):
        raise ValueError(
            f"'{value}' is not a valid agent name: use 1-20 lowercase letters, digits or '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def host_name(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not DNS_NAME.match(value):
            raise ValueError(f"'{value}' is neither an IP address nor a DNS name") from None
    return value


def https_url(value: str) -> str:
    if not re.match(r"^https://[A-Za-z0-9.\-\[\]:]+(?::[0-9]{1,5})?/?$", value):
        raise ValueError(
            f"'{value}' is not an https:// address (scheme, host and optional port); "
            "Vault is only reached over TLS"
        )
    return value.rstrip("/")


def matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        # The whole value: `$` in a pattern also matches before a trailing newline.
        if not pattern.fullmatch(value):
            raise ValueError(f"'{value}' is not a valid {what}")
        return value

    return AfterValidator(check)


Boolean = Annotated[
    bool,
    BeforeValidator(strict_boolean),
    Field(description="true or false"),
]
Image = Annotated[
    str,
    AfterValidator(_image),
    Field(description="image reference repository:tag; prod: repository:tag@sha256:<digest>"),
]
MemoryMb = Annotated[int, Field(ge=64, le=262144, description="memory limit in MiB")]


def _cpus(value: float) -> float:
    problem = cpus_problem(value)
    if problem:
        raise ValueError(f"{problem}; choose a limit with fewer digits, e.g. 0.1 or 0.25")
    return value


Cpus = Annotated[float, Field(gt=0, le=64, description="CPU limit in cores"), AfterValidator(_cpus)]


def _destination(value: str) -> str:
    parse_destination(value)
    return value


EgressEntry = Annotated[
    str,
    AfterValidator(_destination),
    Field(description="outside host name, optionally :port (443 by default)"),
]
Port = Annotated[int, Field(ge=1024, le=65535, description="unprivileged TCP port")]
Counter = Annotated[int, Field(ge=0, le=1_000_000, description="rotation counter; bump to rotate")]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", frozen=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_no_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 where a number belongs: `days: true` would keep one day.
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and field.annotation in (int, float):
            raise ValueError("a number is needed here, not true or false")
        return value
