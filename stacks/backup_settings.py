"""What the backups keep, when, and where a copy goes:
`backup.postgres.{schedule, retention, offsite, s3}`, `backup.weaviate.{enabled, schedule}`.

Single-field checks live here; the backup service (services.postgresBackup) reads them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from croniter import croniter
from pydantic import AfterValidator, Field

from stacks.egress import Destination, parse_destination
from stacks.fields import PATH_PREFIX, Model, https_url, matching

RETENTION = re.compile(r"(?P<count>[1-9][0-9]{0,2})(?P<unit>[dw])")
UNITS = {"d": "DAYS", "w": "WEEKS"}


def _cron(value: str) -> str:
    # Five fields only: croniter also takes a sixth (seconds), which cron and the backup
    # service's reading of it would not mean the same way.
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(
            f"'{value}' is not a cron expression of five fields (minute hour day-of-month "
            "month day-of-week, UTC), e.g. '0 3 * * *'"
        )
    return value


RESTORED_TIME = r"[0-9]{8}T[0-9]{6}Z"
RESTORED_VOLUME = re.compile(rf"vos-[a-z0-9][a-z0-9-]{{0,30}}-postgres-restore-{RESTORED_TIME}")
"""The name `vos-infra backup restore` gives the volume it restores into
(tools/backup/restore.py); whose stack it is, is a rule (stacks/rules/backup.py)."""

BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
"""S3's bucket naming rules, without dots: a dotted name breaks the TLS name check of
virtual-hosted addressing (<bucket>.s3.<region>.amazonaws.com)."""
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")


class S3StoreSettings(Model):
    """backup.postgres.offsite `s3`: the bucket the sealed copies go to, reached through the
    egress proxy with the backup service's certificate. `vos-infra backend bootstrap|check`
    make and check it under the state bucket's rules (TLS only, SSE-KMS, versioning, a
    lifecycle: tools/backend/desired.py Backend.for_backups)."""

    bucket: Annotated[str, matching(BUCKET, "S3 bucket name (3-63 of a-z, 0-9, '-')")]
    region: Annotated[str, matching(REGION, "AWS region (e.g. eu-central-1)")]
    prefix: Annotated[str, matching(PATH_PREFIX, "key prefix (a/b/c, lowercase)")] = Field(
        default="postgres", description="where under the bucket the copies go"
    )
    endpoint: Annotated[str | None, AfterValidator(lambda v: v and https_url(v))] = Field(
        default=None, description="an S3-compatible store's https:// address instead of AWS's"
    )
    access_key_id: str = Field(min_length=3, description="the store's access key id")
    secret_access_key: str = Field(
        min_length=8, description="set with `pulumi config set --secret`: its secret key"
    )

    @property
    def destination(self) -> Destination:
        """What the egress proxy lets the backup service reach: the bucket's own name on
        AWS (virtual-hosted addressing), or the endpoint's host and port."""
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            return parse_destination(f"{parts.hostname}:{parts.port or 443}")
        return parse_destination(f"{self.bucket}.s3.{self.region}.amazonaws.com")


class PostgresBackupSettings(Model):
    schedule: Annotated[str, AfterValidator(_cron)] = Field(
        default="0 3 * * *",
        description="when a base backup starts: a cron expression (UTC); WAL streams always",
    )
    retention: Annotated[str, matching(RETENTION, "retention (e.g. 7d, 4w)")] = Field(
        default="7d",
        description="the recovery window: any moment this far back can be restored (Nd, Nw)",
    )

    def _window(self) -> tuple[int, str]:
        found = RETENTION.fullmatch(self.retention)
        assert found is not None, "validated by the field"
        return int(found["count"]), found["unit"]

    @property
    def retention_policy(self) -> str:
        """Barman's words for it (barman.conf retention_policy)."""
        count, unit = self._window()
        return f"RECOVERY WINDOW OF {count} {UNITS[unit]}"

    offsite: Literal["volume", "s3", "none"] = Field(
        default="volume",
        description=(
            "where sealed copies of the backups go (encrypted with the stack's backup key, "
            "kept in Vault): `volume`, a volume of their own that outlives the service's; "
            "`s3`, the bucket of backup.postgres.s3; `none`, no copy"
        ),
    )
    s3: S3StoreSettings | None = None
    restored_volume: Annotated[str, matching(RESTORED_VOLUME, "restored volume name")] | None = (
        Field(
            default=None,
            description=(
                "switch PostgreSQL over to a volume `vos-infra backup restore` made "
                "(vos-<stack>-postgres-restore-<time>): it runs on that volume instead of "
                "vos-<stack>-postgres-data, which is kept untouched; remove it to go back"
            ),
        )
    )

    @property
    def window_days(self) -> int:
        """The recovery window in days: what the copies keep (vos_offsite.py expired)."""
        count, unit = self._window()
        return count * (7 if unit == "w" else 1)


class WeaviateBackupSettings(Model):
    """Weaviate's own backups (its backup-filesystem module), taken by the backup service on
    a schedule of their own; their sealed copies go where backup.postgres.offsite says and
    are kept as long as its retention."""

    enabled: bool = Field(
        default=True,
        description="back up Weaviate too, whenever it and the backup service both run",
    )
    schedule: Annotated[str, AfterValidator(_cron)] = Field(
        default="30 3 * * *", description="when a Weaviate backup starts: a cron expression (UTC)"
    )


class BackupSettings(Model):
    postgres: PostgresBackupSettings = PostgresBackupSettings()
    weaviate: WeaviateBackupSettings = WeaviateBackupSettings()
