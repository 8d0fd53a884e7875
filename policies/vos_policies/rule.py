"""How the pack's policies are written: a Rule is its metadata plus a check that yields one
message per violation. Importing this (or any rule module) never starts the pack.

Unknown values. During a preview some inputs are not known yet. The SDK turns an
unknown-value error into an ADVISORY "cannot run during preview", whatever the policy's
level, so a mandatory rule would silently stop blocking. Rules here never let that
happen: `get`/`elements` return UNKNOWN instead of raising, each check decides what an
unknown value means for it, and anything a check does not handle fails closed (a violation
at the rule's own level). Secrets shown by `pulumi preview --json` as "[secret]" reach the
rules as UNKNOWN too (see tools/policy/resources.py): opaque, never a compliant literal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
"""A value that is not known yet (preview) or hidden ("[secret]")."""

CONTAINER = "docker:index/container:Container"
SERVICE = "docker:index/service:Service"
SWARM_JOB = "pulumi-python:dynamic/swarm:Job"
NETWORK = "docker:index/network:Network"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"  # noqa: S105 (a type)
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
KV_SECRET = "pulumi-python:dynamic/vault:KvSecret"  # noqa: S105 (a type)
VAULT_POLICY = "pulumi-python:dynamic/vault:Policy"
APPROLE = "pulumi-python:dynamic/vault:AppRole"


def get(mapping: Any, key: str, default: Any = None) -> Any:
    """A property: UNKNOWN if not known yet, `default` if absent (never raises)."""
    if not isinstance(mapping, Mapping):
        return UNKNOWN if mapping is UNKNOWN else default
    try:
        # keys(): `in` on the SDK's proxy would read the values and raise on unknowns.
        if key not in mapping.keys():  # noqa: SIM118
            return default
        return mapping[key]
    except UnknownValueError:
        return UNKNOWN


def elements(sequence: Any) -> list[Any]:
    """The elements of a list, each one UNKNOWN where it is not known (never raises)."""
    if sequence is UNKNOWN:
        return [UNKNOWN]
    if sequence is None:
        return []
    found = []
    for index in range(len(sequence)):
        try:
            found.append(sequence[index])
        except UnknownValueError:
            found.append(UNKNOWN)
    return found


def list_setting(description: str, default: list[Any], items: str = "string") -> dict[str, Any]:
    """The JSON schema of a rule setting that is a list (an allow-list, ports, names)."""
    return {
        "type": "array",
        "items": {"type": items},
        "description": description,
        "default": default,
    }


@dataclass(frozen=True)
class Subject:
    """One resource as a check sees it."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    config: Mapping[str, Any]
    provider: Mapping[str, Any] = field(default_factory=dict)
    """The inputs of the resource's provider (empty for the default provider)."""

    def get(self, key: str, default: Any = None) -> Any:
        return get(self.props, key, default)


@dataclass(frozen=True)
class StackSubject:
    """The whole stack: every resource (outputs), for rules across resources."""

    resources: Sequence[Any]
    config: Mapping[str, Any]

    def of_type(self, type_: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type == type_]


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    description: str
    """One sentence: what must hold."""
    remediation: str
    severity: Severity
    check: Callable[[Any], Iterable[Any]]
    """Resource rule: yields messages. Stack rule: yields (urn, message) pairs."""
    types: tuple[str, ...] = ()
    """Resource types checked; empty for a stack rule."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """JSON-schema properties of the rule's config, each with its default."""

    @property
    def stack(self) -> bool:
        return not self.types

    def settings(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """The rule's config with defaults applied (the SDK applies none)."""
        defaults = {k: v["default"] for k, v in self.config.items() if "default" in v}
        return {**defaults, **dict(given or {})}

    def violations(self, subject: Any) -> Iterator[Any]:
        try:
            yield from self.check(subject)
        except UnknownValueError as error:
            # Fail closed: a rule that cannot see what it checks does not pass.
            message = f"cannot be verified: {error.message}"
            yield ("", message) if self.stack else message

    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        schema = PolicyConfigSchema(properties=dict(self.config)) if self.config else None
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "config_schema": schema,
        }
        if self.stack:
            return StackValidationPolicy(validate=self._validate_stack, **common)
        return ResourceValidationPolicy(validate=self._validate, **common)

    def _validate(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in self.types:
            return
        subject = Subject(
            args.resource_type,
            args.name,
            args.urn,
            args.props,
            self.settings(args.get_config()),
            getattr(args.provider, "props", None) or {},
        )
        for message in self.violations(subject):
            report(message, None)

    def _validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        subject = StackSubject(args.resources, self.settings(args.get_config()))
        for urn, message in self.violations(subject):
            report(message, urn or None)
