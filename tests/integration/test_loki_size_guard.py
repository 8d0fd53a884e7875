"""Loki's size guard (components/loki/size_guard.py, issue 30's "Loki retention by size") as
the store's container runs it: the rendered script and environment (paths and the budget
remapped, names kept), under Debian's busybox with nothing but busybox's applets on PATH (the
image's shell is busybox: distroless static:debug), on a volume of chunk files of known
ages and sizes. What it writes is read as Loki reads it (YAML: `overrides` -> tenant ->
retention_period), its lines are counted as Alloy counts them (tests/integration/
log_counts.py), and the store's rendered health check is run against it. No Loki binary
runs here: Loki applying the period is its source's (cited in size_guard.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.loki import files as loki
from components.loki import size_guard
from tests.integration.log_counts import tally
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation

DAY = 86400
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def store(dev: Evaluation) -> RenderedContainer:
    return containers(dev)[loki.STORE_NAME]


@pytest.fixture(scope="module")
def applets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of busybox's applets only, as the image's PATH has them (/busybox)."""
    busybox = "/bin/busybox"
    assert os.path.exists(busybox), "scripts/system-deps.sh installs busybox"
    folder = tmp_path_factory.mktemp("busybox")
    subprocess.run([busybox, "--install", "-s", str(folder)], check=True)
    return folder


def _chunks(data: Path, ages_days: list[float], size: int = MIB) -> None:
    """One chunk file per age, written as Loki writes them: under chunks/<tenant>/."""
    folder = data / "chunks" / size_guard.TENANT / "3f2a"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for n, age in enumerate(ages_days):
        chunk = folder / f"18c1:18c2:{n:x}"
        chunk.write_bytes(os.urandom(size))
        os.utime(chunk, (now - age * DAY, now - age * DAY))


class Guard:
    """The rendered script with Loki replaced by a command that records what Loki would find
    when it starts (its arguments, the runtime file) and then waits."""

    def __init__(self, store: RenderedContainer, applets: Path, root: Path, budget_kib: int):
        self.data = root / "loki"
        self.runtime = self.data / "runtime" / "overrides.yaml"
        self.seen = root / "seen-at-start"
        script = root / "size-guard.sh"
        script.write_text(store.file(size_guard.SCRIPT))
        env = dict(store.env)
        assert env["VOS_LOKI_DATA"] == loki.DATA and env["VOS_LOKI_RUNTIME_FILE"] == (
            loki.RUNTIME_FILE
        )
        env |= {
            "PATH": str(applets),
            "VOS_LOKI_DATA": str(self.data),
            "VOS_LOKI_RUNTIME_FILE": str(self.runtime),
            "VOS_LOKI_BUDGET_KIB": str(budget_kib),
            "VOS_LOKI_GUARD_PERIOD": "1",
        }
        self.env = env
        loki_stand_in = [
            f"{applets}/sh",
            "-c",
            f'{{ echo "$@"; cat "$VOS_LOKI_RUNTIME_FILE"; }} > {self.seen}; exec sleep 600',
            "loki",
        ]
        command = store.command[1:]  # Loki's own arguments
        self.argv = [f"{applets}/sh", str(script), *loki_stand_in, *command]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def lines(self) -> list[str]:
        """Stops it (Loki and the guard's loop, as the container's end would) and returns
        what it logged."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # already ended on its own
            os.killpg(self.process.pid, signal.SIGKILL)
        _, err = self.process.communicate(timeout=10)
        return err.splitlines()

    def wait_for(self, predicate: Any, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError("the guard did not get there in time")

    def overrides(self) -> Any:
        return yaml.safe_load(self.runtime.read_text())["overrides"]


@pytest.fixture
def guard(
    store: RenderedContainer, applets: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Guard]:
    result = Guard(store, applets, tmp_path, budget_kib=request.param)
    yield result
    if result.process is not None and result.process.poll() is None:
        os.killpg(result.process.pid, signal.SIGKILL)
        result.process.communicate(timeout=10)


def _retention(days: int) -> dict[str, dict[str, str]]:
    return {size_guard.TENANT: {"retention_period": f"{days * 24}h"}}


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_within_its_budget_loki_starts_with_nothing_overridden(guard: Guard) -> None:
    _chunks(guard.data, [0.1, 1.5, 3.5])
    guard.start()
    guard.wait_for(guard.seen.exists)
    guard.wait_for(lambda: "overrides: {}" in guard.seen.read_text())
    arguments, *runtime = guard.seen.read_text().splitlines()
    # Loki got its own command line, and found the runtime file there before it started.
    assert arguments == f"-config.file={loki.CONFIG}"
    assert yaml.safe_load("\n".join(runtime)) == {"overrides": {}}
    lines = guard.lines()
    assert any("size_guard=ok" in line for line in lines), lines
    assert not tally(size_guard.COUNT, lines, "stderr")


@pytest.mark.parametrize("guard", [5 * 1024], indirect=True)
def test_over_its_budget_the_oldest_days_go_first(guard: Guard) -> None:
    """Eight chunks of 1 MiB, one per day of age 0..6 and one older than the retention,
    budget 5 MiB (90 % of it the target): the four newest days fit with the rest of the
    volume, a fifth would not."""
    (guard.data / "wal").mkdir(parents=True)
    (guard.data / "wal" / "00000001").write_bytes(os.urandom(300 * 1024))
    _chunks(guard.data, [d + 0.05 for d in (0, 1, 2, 3, 4, 5, 6, 8)])
    guard.start()
    guard.wait_for(guard.seen.exists)
    assert guard.overrides() == _retention(4)
    time.sleep(2.5)  # rounds go on, with the same answer
    lines = guard.lines()
    capped = [line for line in lines if "size_guard=capped" in line]
    assert len(capped) >= 2, lines
    assert "retention=96h" in capped[0] and "budget_kib=5120" in capped[0]
    counted = tally(size_guard.COUNT, lines, "stderr")
    assert counted == {(size_guard.CAPPED.metric, ()): len(capped)}


@pytest.mark.parametrize("guard", [2 * 1024], indirect=True)
def test_when_not_even_a_day_fits_it_keeps_one_and_says_so(guard: Guard) -> None:
    _chunks(guard.data, [0.1, 0.2, 0.3, 2.1])
    guard.start()
    guard.wait_for(guard.seen.exists)
    assert guard.overrides() == _retention(1)
    lines = guard.lines()
    assert tally(size_guard.COUNT, lines, "stderr")[(size_guard.OVER.metric, ())] >= 1


@pytest.mark.parametrize("guard", [4 * 1024], indirect=True)
def test_once_the_compactor_deleted_the_old_days_the_cap_is_lifted(guard: Guard) -> None:
    _chunks(guard.data, [0.1, 1.1, 2.1, 3.1, 4.1, 5.1])
    guard.start()
    guard.wait_for(guard.seen.exists)
    assert guard.overrides() == _retention(3)
    # What the compactor does after its delete delay: the chunks past the period are gone.
    chunks = sorted((guard.data / "chunks").rglob("*:*"), key=lambda p: p.stat().st_mtime)
    for old in chunks[:3]:
        old.unlink()
    guard.wait_for(lambda: guard.overrides() == {})
    guard.lines()


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_a_volume_it_cannot_measure_still_lets_loki_start(guard: Guard) -> None:
    guard.env["VOS_LOKI_DATA"] = str(guard.data / "missing")
    guard.start()
    guard.wait_for(guard.seen.exists)
    assert guard.overrides() == {}
    assert any("level=error" in line and "cannot measure" in line for line in guard.lines())


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_without_a_runtime_file_loki_is_not_started(guard: Guard) -> None:
    """Loki refuses to start without it: the container stops with the guard's reason."""
    guard.data.mkdir()
    (guard.data / "runtime").write_text("a file where the folder should be")
    guard.start()
    assert guard.process is not None
    assert guard.process.wait(timeout=15) != 0
    assert not guard.seen.exists()
    assert any("cannot write" in line for line in guard.lines())


def _healthy(store: RenderedContainer, applets: Path, port: int, runtime: Path) -> bool:
    command = [
        part.replace(loki.RUNTIME_FILE, str(runtime)).replace(
            f":{loki.DEFINITION.tls_port:04X}$", f":{port:04X}$"
        )
        for part in store.healthcheck
    ]
    command[0] = f"{applets}/sh"
    done = subprocess.run(command, env={"PATH": str(applets)}, capture_output=True, timeout=20)
    return done.returncode == 0


def test_the_health_check_fails_when_the_guard_stopped_writing(
    store: RenderedContainer, applets: Path, tmp_path: Path
) -> None:
    runtime = tmp_path / "overrides.yaml"
    runtime.write_text("overrides: {}\n")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert _healthy(store, applets, port, runtime)
        stale = time.time() - (size_guard.STALE_MINUTES + 1) * 60
        os.utime(runtime, (stale, stale))
        assert not _healthy(store, applets, port, runtime)
        runtime.touch()
        assert _healthy(store, applets, port, runtime)
    # Loki no longer listening
    assert not _healthy(store, applets, port, runtime)
