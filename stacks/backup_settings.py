"""What the backups keep, when, and where a copy goes:
`backup.postgres.{schedule, retention, offsite}`.

Single-field checks live here; the backup service (services.postgresBackup) reads them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from croniter import croniter
from pydantic import AfterValidator, Field

from stacks.fields import Model, matching

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


class PostgresBackupSettings(Model):
    schedule: Annotated[str, AfterValidator(_cron)] = Field(
        default="0 3 * * *",
        description="when a base backup starts: a cron expression (UTC); WAL streams always",
    )
    retention: Annotated[str, matching(RETENTION, "retention (e.g. 7d, 4w)")] = Field(
        default="7d",
        description="the recovery window: any moment this far back can be restored (Nd, Nw)",
    )

    @property
    def retention_policy(self) -> str:
        """Barman's words for it (barman.conf retention_policy)."""
        found = RETENTION.fullmatch(self.retention)
        assert found is not None, "validated by the field"
        return f"RECOVERY WINDOW OF {found['count']} {UNITS[found['unit']]}"

    offsite: Literal["volume", "none"] = Field(
        default="volume",
        description=(
            "where sealed copies of the backups go (encrypted with the stack's backup key, "
            "kept in Vault): `volume`, a volume of their own that outlives the service's; "
            "`none`, no copy"
        ),
    )

    @property
    def window_days(self) -> int:
        """The recovery window in days: what the copies keep (vos_offsite.py expired)."""
        found = RETENTION.fullmatch(self.retention)
        assert found is not None, "validated by the field"
        return int(found["count"]) * (7 if found["unit"] == "w" else 1)


class BackupSettings(Model):
    postgres: PostgresBackupSettings = PostgresBackupSettings()
