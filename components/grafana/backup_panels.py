"""The backup service's panels on the PostgreSQL dashboard (docs/backups.md): what the
backup alerts watch, for PostgreSQL's base backups and copies and for Weaviate's backups.
Pure."""

from __future__ import annotations

from components.grafana.dashboard_model import Panel, Query

BACKUP_AGE = "time() - vos_backup_last_base_backup_end_timestamp_seconds"
COPY_AGE = "time() - vos_backup_offsite_last_success_timestamp_seconds"
WEAVIATE_LAST = "vos_backup_weaviate_last_success_timestamp_seconds"
FS_FREE = "100 * vos_backup_filesystem_avail_bytes / vos_backup_filesystem_size_bytes"


def backup_panels() -> list[Panel]:
    return [
        Panel(
            "Newest base backup: age",
            (Query(f"{BACKUP_AGE} and vos_backup_base_backups > 0", "{{instance}}"),),
            "stat",
            unit="s",
        ),
        Panel(
            "Newest base backup: size",
            (Query("vos_backup_last_base_backup_size_bytes", "{{instance}}"),),
            "stat",
            unit="bytes",
        ),
        Panel(
            "Backup checks failing",
            (Query("count by (instance) (vos_backup_check_ok == 0) or vector(0)", "failing"),),
            "stat",
        ),
        # The sealed copies (backup.postgres.offsite): what PostgresBackupCopiesFailing
        # watches; a service without a store never copies and shows no age.
        Panel(
            "Sealed copies: since the last one",
            (
                Query(
                    f"{COPY_AGE} and vos_backup_offsite_last_success_timestamp_seconds > 0",
                    "{{instance}}",
                ),
            ),
            "stat",
            unit="s",
        ),
        Panel(
            "Sealed copies: objects in the store",
            (Query("vos_backup_offsite_objects", "{{instance}}"),),
            "stat",
        ),
        # backup.weaviate: what WeaviateBackupTooOld watches (none yet shows no age).
        Panel(
            "Newest Weaviate backup: age",
            (Query(f"time() - {WEAVIATE_LAST} and {WEAVIATE_LAST} > 0", "{{instance}}"),),
            "stat",
            unit="s",
        ),
        Panel(
            "Newest Weaviate backup: size",
            (Query("vos_backup_weaviate_last_size_bytes", "{{instance}}"),),
            "stat",
            unit="bytes",
        ),
        # PostgresFilesystemFillingUp's figure: free share of the data volumes' filesystem.
        Panel("Data filesystem: free %", (Query(FS_FREE, "{{instance}}"),), "stat", "percent"),
    ]
