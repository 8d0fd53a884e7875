"""The typed settings of one stack: what every other layer reads, never raw config.

Field names are snake_case in Python and camelCase in config (Pulumi's convention), so a
problem's path is exactly the key an operator types in `pulumi config set --path`.
Rules that relate two values (digests in prod, early renewal below validity, ports that
collide, dependencies between services) live in `rules/`, so they are all reported
together with the rules of single fields.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    Field,
    IPvAnyAddress,
    create_model,
)
from pydantic.alias_generators import to_snake

from stacks.app_settings import AppSettings, ErrorTrackingSettings
from stacks.backup_settings import BackupSettings, S3StoreSettings
from stacks.edge_settings import EdgeSettings
from stacks.egress import Destination
from stacks.fields import (
    MOUNT,
    PATH_PREFIX,
    Boolean,
    Counter,
    Cpus,
    Image,
    MemoryMb,
    Model,
    Port,
    agent_name,
    host_name,
    https_url,
    matching,
)
from stacks.images import local_tag
from stacks.retention_settings import RetentionSettings
from stacks.services import Catalogue, ServiceDefinition, agent_dns_name
from stacks.swarm_settings import SwarmSettings


class BuildSettings(Model):
    """Build the image on the Docker host from source (dev only; rules/images.py checks it)."""

    context: str = Field(description="folder to build from, relative to the project directory")
    dockerfile: str = Field(default="Dockerfile", description="Dockerfile inside the context")


class _Runs(Model):
    """What a container runs: a published image, or (the VOS apps) one built from source.
    Exactly one of the two; rules/images.py reports a missing or doubled one with its key."""

    image: Image | None = None
    build: BuildSettings | None = None

    @property
    def image_reference(self) -> str:
        """The image to run: its reference, or the tag its build gets (images.local_tag)."""
        if self.image is not None:
            return self.image
        assert self.build is not None, "validated by rules/images.py"
        return local_tag(self.build.context, self.build.dockerfile)


class ServiceSettings(_Runs):
    enabled: Boolean
    memory_mb: MemoryMb
    cpus: Cpus


class AppServiceSettings(ServiceSettings, AppSettings):
    """A service that runs a VOS app (the gateway): a service with outside destinations."""


class ServicesSettings(Model):
    """One ServiceSettings per service of the catalogue (fields made by settings_model)."""

    def get(self, key: str) -> ServiceSettings:
        """Look a service up by its config key, e.g. 'apiGateway'."""
        for name, field in type(self).model_fields.items():
            if field.alias == key:
                value: ServiceSettings = getattr(self, name)
                return value
        raise KeyError(key)


class AgentSettings(_Runs, AppSettings):
    name: Annotated[str, AfterValidator(agent_name)]
    memory_mb: MemoryMb
    cpus: Cpus

    @property
    def dns_name(self) -> str:
        return agent_dns_name(self.name)


class NetworkSettings(Model):
    bind_address: IPvAnyAddress = Field(
        description="host address published ports bind to (127.0.0.1 in dev)"
    )
    published_ports: dict[str, Port] = Field(
        description="service key -> host port; unlisted services are not published"
    )
    public_names: list[Annotated[str, AfterValidator(host_name)]] = Field(
        default_factory=list,
        description="DNS names or IPs clients use to reach published endpoints (added as SANs)",
    )


class LimitsSettings(Model):
    """Set on every container: an engine's default-ulimits (ansible docker_engine role) would
    otherwise be merged into each container's own configuration, which the Docker provider
    reads back (components/docker/engine_defaults.py)."""

    nofile: int = Field(
        default=65536, ge=1024, le=1048576, description="open files per container (1024-1048576)"
    )


class TlsSettings(Model):
    key_algorithm: Literal["ECDSA-P256", "RSA-3072", "RSA-4096"]
    ca_validity_hours: int = Field(ge=720, le=175200)
    ca_early_renewal_hours: int = Field(ge=1)
    validity_hours: int = Field(ge=24, le=87600)
    early_renewal_hours: int = Field(ge=1)
    localhost_sans: Boolean = Field(
        description="add localhost, 127.0.0.1 and ::1 to the certificates of published services"
    )


class RotationSettings(Model):
    """One counter per rotation class of the catalogue (fields made by settings_model);
    bumping one replaces exactly that class's material."""

    def counter(self, rotation_class: str) -> int:
        for name, field in type(self).model_fields.items():
            if field.alias == rotation_class:
                value: int = getattr(self, name)
                return value
        raise KeyError(rotation_class)


BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
KMS_ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


class BackendSettings(Model):
    """Where a team's stack state lives: Pulumi's S3 backend, secrets encrypted with AWS KMS
    (`vos-infra backend bootstrap|check`)."""

    bucket: Annotated[str, matching(BUCKET, "S3 bucket name")] = Field(
        description="S3 bucket that holds the state (globally unique)"
    )
    region: Annotated[str, matching(REGION, "AWS region")] = Field(
        description="AWS region of the bucket and the key, e.g. eu-central-1"
    )
    kms_alias: Annotated[str, matching(KMS_ALIAS, "KMS alias (alias/<name>)")] = Field(
        description="KMS key alias for the state's secrets, e.g. alias/vos-prod-state"
    )
    endpoint: Annotated[str, AfterValidator(https_url)] | None = Field(
        default=None, description="https endpoint of an S3-compatible store (not AWS)"
    )
    state_version_days: int = Field(
        default=90, ge=1, le=3650, description="days old state versions are kept"
    )


class VaultSettings(Model):
    """Where secrets are kept. Pulumi itself reaches Vault through VAULT_ADDR/VAULT_TOKEN/
    VAULT_CACERT at run time; `address` is how the platform's services reach it."""

    address: Annotated[str, AfterValidator(https_url)] = Field(
        description="https address services use to reach Vault"
    )
    mount: Annotated[str, matching(MOUNT, "KV v2 mount name")]
    path_prefix: Annotated[str, matching(PATH_PREFIX, "path prefix (a/b/c, lowercase)")]
    approle_mount: Annotated[str, matching(MOUNT, "auth mount name")] = "approle"
    purge_on_delete: Boolean = Field(
        default=False, description="destroy all versions when a secret leaves the stack"
    )
    insecure_skip_verify: Boolean = Field(
        default=False, description="dev only: do not verify Vault's TLS certificate"
    )
    secret_id_ttl_hours: int = Field(
        default=2160,
        ge=24,
        le=8760,
        description="lifetime of each AppRole secret id (a sidecar logs in with it again "
        "after a restart)",
    )
    secret_id_renewal_hours: int = Field(
        default=720,
        ge=1,
        description="an update this many hours before a secret id expires issues the next",
    )
    agent_image: Image | None = Field(
        default=None,
        description="OpenBao (or Vault) image of the apps' Vault Agent sidecars",
    )
    ca_cert_file: str | None = Field(
        default=None,
        description="PEM file of the CA that signed Vault's certificate (the sidecars verify "
        "vault.address with it); relative paths are from the project directory",
    )
    audit_log_folder: str | None = Field(
        default=None,
        description="a folder of the Docker host holding Vault's file audit log (*.log, "
        "readable by root without capabilities): Alloy ships it to Loki; relative paths are "
        "from the project directory",
    )


class ReceiverSettings(Model):
    """Where Alertmanager sends alerts besides holding them (its API, Grafana). The one
    secret of each (an SMTP password, a Slack webhook URL, a PagerDuty routing key, a
    webhook's URL) is a Pulumi secret: the program keeps it in Vault and hands it to
    Alertmanager as a file. An email receiver may relay without a login (then neither
    `username` nor `secret`)."""

    name: Annotated[str, matching(re.compile(r"^[a-z][a-z0-9-]{0,30}$"), "receiver name")]
    type: Literal["email", "slack", "pagerduty", "webhook"]
    severities: list[Literal["critical", "warning"]] = Field(
        default=["critical"],
        min_length=1,
        description="which alerts it gets (the heartbeat receiver, alerting.heartbeat, gets "
        "only the Watchdog)",
    )
    secret: str | None = Field(
        default=None,
        min_length=1,
        description="set with `pulumi config set --secret`: SMTP password, Slack webhook "
        "URL, PagerDuty routing key or the webhook's https:// URL",
    )
    to: str | None = Field(default=None, description="email: recipient address")
    sender: str | None = Field(default=None, description="email: From address")
    smarthost: str | None = Field(default=None, description="email: SMTP host:port (STARTTLS)")
    username: str | None = Field(default=None, description="email: SMTP login")
    channel: str | None = Field(default=None, description="slack: #channel")


class AlertingSettings(Model):
    receivers: list[ReceiverSettings] = Field(default=[], max_length=20)
    heartbeat: str | None = Field(
        default=None,
        description="the receiver the Watchdog (an alert that always fires) goes to every "
        "minute: a dead man's switch of yours that pages when it stops",
    )


class Settings(Model):
    catalogue: ClassVar[Catalogue]
    """The services these settings were validated against (see settings_model)."""

    environment: Literal["dev", "prod"]
    stack: Annotated[str, matching(re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$"), "stack name")]
    target: Literal["docker", "swarm"] = Field(
        default="docker",
        description="docker: one Docker host; swarm: the services of a Swarm (docs/swarm.md)",
    )
    swarm: SwarmSettings = SwarmSettings()
    services: ServicesSettings
    agents: list[AgentSettings] = Field(max_length=250)
    network: NetworkSettings
    tls: TlsSettings
    rotation: RotationSettings
    vault: VaultSettings
    backend: BackendSettings | None = None
    alerting: AlertingSettings = AlertingSettings()
    error_tracking: ErrorTrackingSettings | None = None
    edge: EdgeSettings = EdgeSettings()
    limits: LimitsSettings = LimitsSettings()
    backup: BackupSettings = BackupSettings()
    retention: RetentionSettings = RetentionSettings()

    @property
    def name_prefix(self) -> str:
        """Prefix of every Docker object this stack creates, so stacks can share a host."""
        return f"vos-{self.stack}"

    def service(self, key: str) -> ServiceSettings:
        return self.services.get(key)

    def enabled_services(self) -> list[ServiceDefinition]:
        return [d for d in self.catalogue if self.service(d.key).enabled]

    def is_enabled(self, key: str) -> bool:
        return self.service(key).enabled

    @property
    def backup_bucket(self) -> S3StoreSettings | None:
        """The bucket the backup service's copies go to (backup.postgres.s3), when the
        service runs and its copies go to S3 (backup.postgres.offsite s3); else None."""
        copies = self.backup.postgres
        if copies.offsite != "s3" or not self.is_enabled("postgresBackup"):
            return None
        return copies.s3

    @property
    def weaviate_backups(self) -> bool:
        """Whether the backup service backs Weaviate up: both run, on one Docker host (a
        Swarm's tasks share no volume), and backup.weaviate is enabled."""
        return (
            self.backup.weaviate.enabled
            and self.target != "swarm"
            and self.is_enabled("weaviate")
            and self.is_enabled("postgresBackup")
        )

    def is_published(self, key: str) -> bool:
        return key in self.network.published_ports

    def images(self) -> dict[str, str]:
        """Config key -> image reference, for every enabled service and every agent that
        runs a published image (not one built from source), and the sidecars'."""
        runners: list[tuple[str, _Runs]] = [
            (f"services.{d.key}", self.service(d.key)) for d in self.enabled_services()
        ]
        runners += [(f"agents[{i}]", a) for i, a in enumerate(self.agents)]
        found = {f"vos-infra:{path}.image": r.image for path, r in runners if r.image}
        if self.vault.agent_image and self.apps_enabled():
            found["vos-infra:vault.agentImage"] = self.vault.agent_image
        return found

    def apps_enabled(self) -> bool:
        """Whether any app container (an enabled consumer service, an agent) runs, and so
        any Vault Agent sidecar."""
        return bool(self.agents) or any(d.consumer for d in self.enabled_services())

    def destinations(self, dns_name: str) -> list[Destination]:
        """The outside destinations of an app (the gateway, an agent) by its DNS name."""
        app = self.app_settings(dns_name)
        if app is None:
            return []
        tracking = [self.error_tracking.destination] if self.error_tracking else []
        return list(dict.fromkeys([*app.destinations, *tracking]))

    def app_settings(self, dns_name: str) -> AppSettings | None:
        """The settings of an app (the gateway, an agent) by its DNS name."""
        for agent in self.agents:
            if agent.dns_name == dns_name:
                return agent
        for definition in self.enabled_services():
            service = self.service(definition.key)
            if definition.dns_name == dns_name and isinstance(service, AppServiceSettings):
                return service
        return None

    def operator_secrets(self, dns_name: str) -> dict[str, str]:
        """The secrets the operator supplies to an app, by name."""
        app = self.app_settings(dns_name)
        if app is None:
            return {}
        tracking = {"SENTRY_DSN": self.error_tracking.sentry_dsn} if self.error_tracking else {}
        return tracking | dict(app.secrets)

    def app_env(self, dns_name: str) -> dict[str, str]:
        """The plain settings the operator gives an app, by name."""
        app = self.app_settings(dns_name)
        return dict(app.env) if app else {}

    def consumers(self) -> list[str]:
        """DNS names of everything that logs in to the data services: the enabled consumer
        services (the gateway), then every agent."""
        services = [d.dns_name for d in self.enabled_services() if d.consumer]
        return services + [agent.dns_name for agent in self.agents]


@functools.cache
def settings_model(catalogue: Catalogue) -> type[Settings]:
    """The Settings model of a catalogue: a `services` entry per service, a `rotation`
    counter per rotation class. Field names are the snake_case of the config keys."""

    def fields(values: dict[str, Any]) -> Any:
        return {to_snake(key): value for key, value in values.items()}

    services = create_model(
        "ServicesSettings",
        __base__=ServicesSettings,
        **fields(
            {d.key: (AppServiceSettings if d.consumer else ServiceSettings, ...) for d in catalogue}
        ),
    )
    rotation = create_model(
        "RotationSettings",
        __base__=RotationSettings,
        **fields({c: (Counter, 0) for c in catalogue.rotation_classes}),
    )
    model = create_model(
        "Settings", __base__=Settings, services=(services, ...), rotation=(rotation, rotation())
    )
    model.catalogue = catalogue
    return model
