"""The backup image's own script (images/postgres-backup/vos_backup.py), loaded as the
image runs it, and the series its metrics endpoint serves: what the backup alerts and
dashboard panels may read besides the exporters and the app contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).resolve().parents[1] / "images" / "postgres-backup" / "vos_backup.py"


def load_scheduler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vos_backup", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backup_series() -> frozenset[str]:
    """Every sample name of the service's metrics, as its registry declares them."""
    status = load_scheduler().Status("0 3 * * *")
    status.check.labels("receive_wal_running").set(1)  # a labelled family shows once set
    return frozenset(
        sample.name for family in status.registry.collect() for sample in family.samples
    )
