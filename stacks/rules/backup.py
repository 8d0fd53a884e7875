"""Where the backups' sealed copies go: a bucket needs its settings and the egress proxy
(the backup service's only way out), and bucket settings with no bucket to go to are a
mistake worth saying. A restored volume to switch PostgreSQL over to is one of this stack's,
on its one Docker host."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stacks.backup_settings import RESTORED_TIME, RESTORED_VOLUME
from stacks.problems import Problem, config_key
from stacks.rules.raw import Raw, enabled, section, set_hint
from stacks.services import Catalogue
from stacks.values import boolean

OFFSITE = ("backup", "postgres", "offsite")
S3 = ("backup", "postgres", "s3")
RESTORED = ("backup", "postgres", "restoredVolume")
WEAVIATE = ("backup", "weaviate", "enabled")


def s3_store(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    postgres = section(section(raw, "backup"), "postgres")
    services = section(raw, "services")
    offsite, s3 = postgres.get("offsite"), postgres.get("s3")
    if offsite != "s3":
        if s3 is not None:
            yield Problem(
                S3,
                f"is set, but backup.postgres.offsite is {offsite or 'volume'!r}: no copy goes "
                "to the bucket",
                f"{set_hint(OFFSITE, 's3')} (or remove backup.postgres.s3)",
            )
        return
    if not enabled(services, "postgresBackup"):
        return
    if s3 is None:
        yield Problem(
            S3,
            "is required when backup.postgres.offsite is s3: the bucket, its region and the "
            "store's keys",
            f"{set_hint((*S3, 'bucket'), '<bucket>')}; {set_hint((*S3, 'region'), '<region>')}; "
            f"{set_hint((*S3, 'accessKeyId'), '<key id>')}; pulumi config set --secret --path "
            "'vos-infra:backup.postgres.s3.secretAccessKey' <secret key>",
        )
    if not enabled(services, "egressProxy"):
        yield Problem(
            OFFSITE,
            "is s3, but the egress proxy, the backup service's only way out of the stack, "
            "is disabled",
            set_hint(("services", "egressProxy", "enabled"), "true"),
        )


def restored_volume(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    volume = section(section(raw, "backup"), "postgres").get("restoredVolume")
    if not isinstance(volume, str) or not RESTORED_VOLUME.fullmatch(volume):
        return  # the field's own rule says what a restore's name is
    unset = f"pulumi config rm --path '{config_key(RESTORED)}'"
    own = f"vos-{raw.get('stack')}-postgres-restore-"
    if not re.fullmatch(re.escape(own) + RESTORED_TIME, volume):
        yield Problem(
            RESTORED,
            f"'{volume}' is not a restore of this stack's PostgreSQL (its restores are "
            f"named {own}<time>): another stack's data would become this one's",
            f"vos-infra backup list --stack {raw.get('stack')}, then vos-infra backup restore "
            f"--stack {raw.get('stack')} --to <time|latest> and set the volume it prints; or "
            f"{unset}",
        )
    if raw.get("target") == "swarm":
        yield Problem(
            RESTORED,
            "is set, but the stack's target is swarm: a restore is made on one Docker host "
            "(`vos-infra backup restore`) and a Swarm's PostgreSQL runs on its data node",
            unset,
        )


def weaviate_on_swarm(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    """Weaviate's backups go through a volume Weaviate and the backup service share, which
    Swarm tasks cannot (components/swarm/service.py): on a Swarm they are off by default
    (docs/backups.md), and asking for them there is refused rather than back up nothing."""
    asked = boolean(section(section(raw, "backup"), "weaviate").get("enabled"))
    if raw.get("target") == "swarm" and asked is True:
        yield Problem(
            WEAVIATE,
            "is true, but the stack's target is swarm: Weaviate's backups reach the backup "
            "service through a volume both mount, which Swarm tasks do not share",
            f"pulumi config rm --path '{config_key(WEAVIATE)}' (Weaviate on a Swarm is not "
            "backed up: docs/backups.md, Weaviate)",
        )
