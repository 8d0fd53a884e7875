"""The backup image's own script (images/postgres-backup/vos_backup.py), loaded as the
image runs it, and the series its metrics endpoint serves: what the backup alerts and
dashboard panels may read besides the exporters and the app contract."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).resolve().parents[1] / "images" / "postgres-backup" / "vos_backup.py"


def _load(name: str) -> ModuleType:
    # As in the image, the scripts import each other from their own folder.
    if str(SOURCE.parent) not in sys.path:
        sys.path.insert(0, str(SOURCE.parent))
    spec = importlib.util.spec_from_file_location(name, SOURCE.parent / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_scheduler() -> ModuleType:
    return _load("vos_backup")


def load_sibling(name: str) -> ModuleType:
    """`vos_barman`, `vos_offsite`, `vos_seal`, `vos_stores`, `vos_switchover`: the modules
    vos_backup imports (the same copies: their classes are the scheduler's)."""
    _load("vos_backup")
    return sys.modules[name]


def backup_series() -> frozenset[str]:
    """Every sample name of the service's metrics, as its registry declares them."""
    status = load_scheduler().Status("0 3 * * *")
    status.check.labels("receive_wal_running").set(1)  # a labelled family shows once set
    return frozenset(
        sample.name for family in status.registry.collect() for sample in family.samples
    )
