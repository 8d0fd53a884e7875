"""Which volume the stack's PostgreSQL runs on, as the backup service last followed it.

`backup.postgres.restoredVolume` switches PostgreSQL over to a restore (or back): a server
on a new timeline, which refuses the position Barman's stream had reached on the old one
for ever. The service is started with the volume PostgreSQL runs on; the record in Barman's
home says which one its stream and backups belong to. They differ: a switch-over, done
(the record written) only once the stream was reset and a base backup of the new server
succeeded, so a restart in between resets again rather than leave the new timeline without
a backup. A first start seeds the record with the stack's own volume, so a service first
started on a restore (one update that brings this version and the switch) still resets.
"""

from __future__ import annotations

from pathlib import Path


class Switchover:
    def __init__(self, record: Path, volume: str, own: str) -> None:
        self.record, self.volume = record, volume
        if not record.exists():
            record.write_text(f"{own}\n")

    def pending(self) -> bool:
        return self.record.read_text().strip() != self.volume

    def done(self) -> None:
        self.record.write_text(f"{self.volume}\n")
