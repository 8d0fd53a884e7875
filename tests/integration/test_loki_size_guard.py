"""Loki's size guard (components/loki/size_guard.py, issue 30's "Loki retention by size") as
the store's container runs it: the rendered script and environment (paths and the budget
remapped, names kept), under Debian's busybox with nothing but busybox's applets on PATH (the
image's shell is busybox), on volumes of chunk files named as Loki names them
(`chunks/<tenant>/<fingerprint>/<base64 of from:through:checksum>`). What it writes is read as
Loki reads it (YAML: `overrides` -> tenant -> retention_period), its lines are counted as
Alloy counts them (tests/integration/log_counts.py), and the store's rendered health check
runs against it. No Loki binary runs here: Loki applying the period is its source's (cited
in size_guard.py)."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
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


def chunk(data: Path, newest_age_days: float, size: int = MIB, mtime_age: float = 0) -> Path:
    """A chunk file as Loki's filesystem store writes it (schema v12 on: the key's last part
    base64-encoded, pkg/storage/chunk/client/object_client.go FSEncoder), its newest line
    `newest_age_days` old and its oldest 20 hours before (what counts is the newest); its
    mtime `mtime_age` days old (0: copied or restored today)."""
    through = int((time.time() - newest_age_days * DAY) * 1000)
    key = f"{through - 72_000_000:x}:{through:x}:{os.getpid() ^ through & 0xFFFFFFFF:x}"
    folder = data / "chunks" / size_guard.TENANT / f"{through % 4096:x}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / base64.b64encode(key.encode()).decode()
    path.write_bytes(os.urandom(size))
    stamp = time.time() - mtime_age * DAY
    os.utime(path, (stamp, stamp))
    return path


class Guard:
    """The rendered script with Loki replaced by a command that records what Loki would find
    when it starts (its arguments, the runtime file) and then waits."""

    def __init__(self, store: RenderedContainer, applets: Path, root: Path, budget_kib: int):
        self.data = root / "loki"
        self.runtime = root / "tmp" / "size-guard" / "overrides.yaml"
        self.seen = root / "seen-at-start"
        script = root / "size-guard.sh"
        script.write_text(store.file(size_guard.SCRIPT))
        self.env = dict(store.env) | {
            "PATH": str(applets),
            "VOS_LOKI_DATA": str(self.data),
            "VOS_LOKI_CHUNKS": str(self.data / "chunks"),
            "VOS_LOKI_RUNTIME_FILE": str(self.runtime),
            "VOS_LOKI_BUDGET_KIB": str(budget_kib),
            "VOS_LOKI_GUARD_PERIOD": "1",
        }
        loki_stand_in = [
            f"{applets}/sh",
            "-c",
            f'{{ echo "$@"; cat "$VOS_LOKI_RUNTIME_FILE"; }} > {self.seen}; exec sleep 600',
            "loki",
        ]
        self.argv = [f"{applets}/sh", str(script), *loki_stand_in, *store.command[1:]]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, env=self.env, stderr=subprocess.PIPE, text=True, start_new_session=True
        )

    def lines(self) -> list[str]:
        """Stops it (Loki and the guard's loop, as the container's end would) and returns
        what it logged."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # already ended on its own
            os.killpg(self.process.pid, signal.SIGKILL)
        _, err = self.process.communicate(timeout=10)
        return err.splitlines()

    def wait_for(self, predicate: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                if predicate():
                    return
            time.sleep(0.1)
        raise AssertionError("the guard did not get there in time")

    def started(self) -> None:
        self.wait_for(self.seen.exists)
        self.wait_for(lambda: "overrides" in self.seen.read_text())

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


def kept(days: int) -> dict[str, dict[str, str]]:
    return {size_guard.TENANT: {"retention_period": f"{days * 24}h"}}


def retentions(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := re.search(r" retention=(\d+h)", line))]


def counted(lines: list[str]) -> dict[str, int]:
    return {metric: n for (metric, _), n in tally(size_guard.COUNT, lines, "stderr").items()}


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_within_its_budget_loki_starts_with_nothing_overridden(guard: Guard) -> None:
    for age in (0.1, 1.5, 3.5):
        chunk(guard.data, age)
    guard.start()
    guard.started()
    arguments, *runtime = guard.seen.read_text().splitlines()
    # Loki got its own command line, and found the runtime file there before it started.
    assert arguments == f"-config.file={loki.CONFIG}"
    assert yaml.safe_load("\n".join(runtime)) == {"overrides": {}}
    lines = guard.lines()
    assert any("size_guard=ok" in line for line in lines), lines
    assert not counted(lines)


@pytest.mark.parametrize("guard", [5 * 1024], indirect=True)
def test_over_its_budget_the_oldest_days_go_by_the_time_in_their_names(guard: Guard) -> None:
    """Eight chunks of 1 MiB, newest lines 0..6 days old and one past the retention, every
    file written today (a restored volume's mtimes say nothing); a 300 KiB WAL and a 1 MiB
    index (under chunks/ but no logs): three days fit in 90 % of 5 MiB with the rest, a
    fourth would not. Then a flood of today's logs passes the budget again: one day is kept,
    which fits the budget though not its 90 %."""
    (guard.data / "wal").mkdir(parents=True)
    (guard.data / "wal" / "00000001").write_bytes(os.urandom(300 * 1024))
    index = guard.data / "chunks" / "index" / "index_20000"
    index.mkdir(parents=True)
    (index / "shipped.tsdb.gz").write_bytes(os.urandom(MIB))
    os.utime(index / "shipped.tsdb.gz", (time.time() - 9 * DAY, time.time() - 9 * DAY))
    for age in (0, 1, 2, 3, 4, 5, 6, 8):
        chunk(guard.data, age + 0.5)
    guard.start()
    guard.started()
    assert guard.overrides() == kept(3)
    time.sleep(2.5)  # rounds go on, with the same answer
    chunk(guard.data, 0.01, size=2560 * 1024)  # today: 3.5 MiB, with the rest 4908 KiB
    guard.wait_for(lambda: guard.overrides() == kept(1))
    time.sleep(1.5)  # a round more, its line written
    lines = guard.lines()
    # One day fits within the budget, though not in its 90 %: capped, not over.
    assert all("size_guard=capped" in line for line in lines if "retention=24h" in line)
    capped = [line for line in lines if "size_guard=capped" in line]
    assert re.search(r" used_kib=\d+ chunks_kib=\d+ other_kib=1324 budget_kib=5120 ", capped[0])
    cut = retentions(lines)
    assert cut[:3] == ["72h"] * 3 and cut[-1] == "24h", cut
    assert counted(lines) == {size_guard.CAPPED.metric: len(capped)}


@pytest.mark.parametrize("guard", [10 * 1024], indirect=True)
def test_under_its_budget_nothing_is_cut_however_large_today_is(guard: Guard) -> None:
    """Today's logs alone pass 90 % of the budget, but the volume is within it: no cut."""
    chunk(guard.data, 0.1, size=9 * MIB + 100 * 1024)
    for age in (1, 2, 3, 4, 5, 6):
        chunk(guard.data, age + 0.5, size=100 * 1024)
    guard.start()
    guard.started()
    time.sleep(1.5)
    assert guard.overrides() == {}
    assert set(retentions(guard.lines())) == {"168h"}


@pytest.mark.parametrize("guard", [int(5.5 * 1024)], indirect=True)
def test_it_cuts_to_ninety_percent_of_the_budget(guard: Guard) -> None:
    """Five days of 1 MiB fit in 5.5 MiB but not in 90 % of it: four are kept."""
    for age in (0, 1, 2, 3, 4, 5, 6):
        chunk(guard.data, age + 0.05)
    guard.start()
    guard.started()
    assert guard.overrides() == kept(4)
    guard.lines()


@pytest.mark.parametrize("guard", [5 * 1024], indirect=True)
def test_a_name_that_does_not_read_as_a_key_goes_by_its_mtime(guard: Guard) -> None:
    """Ages by mtime alone (names that are no key, or a time in the future, which counts as
    today): the same four days as by name."""
    for age in (0, 1, 2, 3, 4, 5, 6):
        path = chunk(guard.data, -3, mtime_age=age + 0.05)  # through in the future
        if age:
            path.rename(path.with_name(f"not-a-key-{age}"))
    guard.start()
    guard.started()
    assert guard.overrides() == kept(4)
    guard.lines()


@pytest.mark.parametrize("guard", [2 * 1024], indirect=True)
def test_when_not_even_a_day_fits_it_keeps_one_and_says_so(guard: Guard) -> None:
    for age in (0.1, 0.2, 0.3, 2.1):
        chunk(guard.data, age)
    guard.start()
    guard.started()
    assert guard.overrides() == kept(1)
    assert counted(guard.lines())[size_guard.OVER.metric] >= 1


@pytest.mark.parametrize("guard", [5 * 1024], indirect=True)
def test_what_is_not_chunks_past_the_budget_cuts_no_logs(guard: Guard) -> None:
    """A WAL between 90 % and 100 % of the budget, the logs on top of it over the budget:
    no cut would bring the rest under the target, so none is made, and it says over."""
    (guard.data / "wal").mkdir(parents=True)
    (guard.data / "wal" / "00000001").write_bytes(os.urandom(4864 * 1024))
    for age in (0.5, 2.5, 4.5, 6.5):
        chunk(guard.data, age, size=256 * 1024)
    guard.start()
    guard.started()
    assert guard.overrides() == {}
    lines = guard.lines()
    assert set(retentions(lines)) == {"168h"}
    assert counted(lines)[size_guard.OVER.metric] >= 1


@pytest.mark.parametrize("guard", [4300], indirect=True)
def test_the_cap_comes_back_a_day_at_a_time_once_another_day_fits(guard: Guard) -> None:
    """Capped at three days (3 MiB fit in 90 % of 4300 KiB, 4 do not); the compactor deletes
    what is older, which alone does not lift the cap: another average day would pass the
    target, though not the budget (the volume would swing back over). Once the volume
    shrinks far enough below the target the guard gives back one day a round up to the
    configured seven, never taking one back on the way."""
    paths = [chunk(guard.data, age + 0.5) for age in (0, 1, 2, 3, 4, 5)]
    guard.start()
    guard.started()
    assert guard.overrides() == kept(3)
    for old in paths[3:]:  # what the compactor does after its delete delay
        old.unlink()
    time.sleep(2.5)
    assert guard.overrides() == kept(3)  # 3 MiB kept: a fourth would pass 3870 KiB
    for path in paths[1:3]:  # the logs of days 1 and 2 gone (say, deleted by request)
        path.unlink()
    guard.wait_for(lambda: guard.overrides() == {})
    lines = guard.lines()
    given = retentions(lines)
    steps = [r for i, r in enumerate(given) if i == 0 or r != given[i - 1]]
    assert steps == ["72h", "96h", "120h", "144h", "168h"], given


@pytest.mark.parametrize("guard", [4300], indirect=True)
def test_its_scratch_folder_gone_it_walks_again_before_deciding(guard: Guard) -> None:
    """The folder of its file and of the walk's errors removed while it runs: the next
    round makes it again before it walks, and decides on the whole volume, not on none."""
    for age in (0, 1, 2, 3, 4, 5):
        chunk(guard.data, age + 0.5)
    guard.start()
    guard.started()
    assert guard.overrides() == kept(3)
    shutil.rmtree(guard.runtime.parent)
    guard.wait_for(guard.runtime.exists)
    time.sleep(1.5)
    assert guard.overrides() == kept(3)
    assert set(retentions(guard.lines())) == {"72h"}


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_a_full_volume_does_not_keep_loki_from_starting(guard: Guard) -> None:
    """The runtime file is on the container's tmpfs, not on Loki's volume: with the volume
    full (a 1 MiB filesystem of its own, filled), Loki still starts."""
    guard.data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(guard.data)], check=True)
    try:
        with contextlib.suppress(OSError):
            (guard.data / "filler").write_bytes(b"x" * 2 * MIB)
        guard.start()
        guard.started()
        assert guard.overrides() == {}
        guard.lines()
    finally:
        subprocess.run(["umount", str(guard.data)], check=True)


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_a_volume_it_cannot_measure_still_lets_loki_start(guard: Guard) -> None:
    guard.env["VOS_LOKI_DATA"] = str(guard.data / "missing")
    guard.start()
    guard.started()
    assert guard.overrides() == {}
    lines = guard.lines()
    assert any("cannot measure" in line for line in lines), lines
    assert counted(lines)[size_guard.FAILED.metric] >= 1


@pytest.mark.parametrize("guard", [64 * 1024], indirect=True)
def test_without_a_runtime_file_loki_is_not_started(guard: Guard) -> None:
    """Loki refuses to start without it: the container stops with the guard's reason."""
    guard.runtime.parent.parent.mkdir(parents=True)
    guard.runtime.parent.write_text("a file where the folder should be")
    guard.start()
    assert guard.process is not None
    assert guard.process.wait(timeout=15) != 0
    assert not guard.seen.exists()
    assert any("cannot write" in line for line in guard.lines())


@pytest.mark.parametrize("guard", [0], indirect=True)
def test_a_budget_that_is_no_number_stops_it_before_loki(guard: Guard) -> None:
    guard.start()
    assert guard.process is not None
    assert guard.process.wait(timeout=15) == 2
    assert not guard.seen.exists()
    assert any("VOS_LOKI_BUDGET_KIB must be a whole number" in line for line in guard.lines())


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
