"""The backup service on the engine as `pulumi up` leaves it: its image built from
images/postgres-backup as the dev profile builds it, run hardened like the rest (the
tier's generic checks cover it with every other container), streaming from the tier's
PostgreSQL with its certificate, its first base backup taken; then a restore drill with
`vos-infra backup restore`'s own code (tools/backup/restore.py) on the tier's engine."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest

from components.docker.spec import CONFIG_DIR
from components.postgres.containers import DATA
from components.postgres.files import CONF
from components.postgres_backup import files
from components.postgres_backup.containers import UID as BACKUP_UID
from components.postgres_backup.definition import DEFINITION
from components.weaviate import files as weaviate
from tests.docker.probes import gateway_url, psql
from tests.docker.stack import PREFIX, Stack
from tools.backup.listing import list_backups
from tools.backup.now import take_now
from tools.backup.restore import Restored, RestoreError, restore
from tools.backup.target import Target, parse_target
from tools.backup.weaviate import run_tool
from tools.offline.stack_files import StackConfig

NAME = f"{PREFIX}-{DEFINITION.dns_name}"


def _barman(stack: Stack, *args: str) -> tuple[int, str]:
    code, out = stack.container(DEFINITION.dns_name).exec_run(
        ["barman", "-c", files.CONFIG, *args], user=f"{DEFINITION.image_uid}"
    )
    return int(code), out.decode(errors="replace")


def _backups(stack: Stack) -> list[dict[str, Any]]:
    code, out = _barman(stack, "--format", "json", "list-backups", files.SERVER)
    assert code == 0, out
    found: list[dict[str, Any]] = json.loads(out)[files.SERVER]
    done = [b for b in found if b["status"] == "DONE"]
    return sorted(done, key=lambda b: int(b["end_time_timestamp"]))  # oldest first


def test_it_runs_as_barman_on_a_read_only_root_and_takes_its_first_base_backup(
    stack: Stack,
) -> None:
    seen = stack.inspect(NAME)
    assert seen["Config"]["User"] == f"{DEFINITION.image_uid}:{DEFINITION.image_uid}"
    assert seen["HostConfig"]["ReadonlyRootfs"] is True
    assert seen["HostConfig"]["CapDrop"] == ["ALL"] and not seen["HostConfig"]["CapAdd"]
    assert seen["HostConfig"]["Init"] is True
    assert not seen["HostConfig"]["PortBindings"]
    deadline = time.monotonic() + 120
    while not (done := _backups(stack)):
        assert time.monotonic() < deadline, stack.container(DEFINITION.dns_name).logs()[-3000:]
        time.sleep(2)
    assert int(done[-1]["size_bytes"]) > 0
    stack.wait_healthy(NAME)  # `barman check`: streaming, slot, receive-wal, directories


def test_each_round_seals_its_copies_into_their_own_volume(stack: Stack) -> None:
    copies = {m["Destination"]: m for m in stack.inspect(NAME)["Mounts"]}[files.OFFSITE_STORE]
    assert (copies["Type"], copies["Name"], copies["RW"]) == ("volume", f"{NAME}-offsite", True)
    backup = stack.container(DEFINITION.dns_name)
    user = f"{DEFINITION.image_uid}"
    deadline = time.monotonic() + 120
    while True:
        code, out = backup.exec_run(["find", files.OFFSITE_STORE, "-name", "*.sealed"], user=user)
        found = out.decode().split()
        if any("/base/" in n for n in found) and any("/wals/" in n for n in found):
            break
        assert time.monotonic() < deadline, (found, backup.logs()[-3000:])
        time.sleep(2)
    # The runbook's "a copy now" (docs/runbooks/alerts.md), as written there.
    code, out = backup.exec_run(
        ["python3", "/usr/local/bin/vos_offsite.py", "push", "--key", files.OFFSITE_KEY,
         "--store-dir", files.OFFSITE_STORE, "--server-dir", f"{files.HOME}/{files.SERVER}",
         "--scratch", files.OFFSITE_SCRATCH],
        user=user,
    )  # fmt: skip
    assert code == 0 and "in the store" in out.decode(), out
    # Sealed: not a file name of the data directory in any copy (a tar would show them).
    code, out = backup.exec_run(["grep", "-rlF", "PG_VERSION", files.OFFSITE_STORE], user=user)
    assert code == 1, out


def test_wal_streams_from_the_tier_s_postgres_over_tls_as_the_backup_role(stack: Stack) -> None:
    code, out = _barman(stack, "replication-status", "--target", "wal-streamer", files.SERVER)
    assert code == 0, out
    postgres = stack.container("postgres")
    query = (
        "select r.usename, s.ssl, r.state from pg_stat_replication r "
        "join pg_stat_ssl s on s.pid = r.pid"
    )
    code, rows = postgres.exec_run(
        ["psql", "-h", "/var/run/postgresql", "-U", "vos_admin", "-d", "vos", "-At", "-c", query],
        environment={"PGPASSWORD": stack.secret("credentials-postgres-admin-password")},
    )
    assert code == 0, rows
    assert "vos_backup|t|streaming" in rows.decode().split("\n"), rows


def test_the_list_names_each_base_backup_and_what_can_be_restored(stack: Stack) -> None:
    listed = list_backups(stack.engine.client(), PREFIX)
    (newest,) = [b["backup_id"] for b in _backups(stack)][-1:]
    assert f"{NAME}: " in listed and newest in listed and "DONE" in listed, listed
    assert f"restorable: from the end of {_backups(stack)[0]['backup_id']}" in listed, listed


def test_weaviate_backs_up_into_its_volume_for_the_service_to_seal_and_list(stack: Stack) -> None:
    """backup.weaviate on the real engine: Weaviate (root, no capability, the service's
    group, the rendered umask) writes into the volume both mount; `vos-infra backup now`'s
    and `list`'s code runs the service's vos_weaviate.py inside it; the copy is sealed into
    the store; a restore onto collections that exist is refused with Weaviate's words."""
    service = stack.container(DEFINITION.dns_name)
    postgres, weaviate_line = take_now(stack.engine.client(), PREFIX, weaviate=True)
    assert postgres.startswith("PostgreSQL: ") and "Backup completed" in postgres, postgres
    taken = weaviate_line.removeprefix("Weaviate: ")
    name = taken.split(":")[0]
    assert name.startswith("vos-") and "1 copied" in taken, taken
    code, out = service.exec_run(
        ["stat", "-c", "%u %g %A", f"{weaviate.BACKUP_PATH}/{name}"], user=f"{BACKUP_UID}"
    )
    assert code == 0 and out.decode().split() == ["0", str(BACKUP_UID), "drwxrwxr-x"], out
    listed = list_backups(stack.engine.client(), PREFIX, weaviate=True)
    weaviate_part = listed[listed.index("Weaviate's backups") :]
    assert f"{name} " in weaviate_part and "volume store" in weaviate_part, listed
    code, out = service.exec_run(["ls", f"{files.OFFSITE_STORE}/weaviate"], user=f"{BACKUP_UID}")
    assert f"{name}.tar.sealed" in out.decode(), out
    with pytest.raises(RestoreError, match="already exists"):
        run_tool(service, "restore", "latest")


def _moment(stack: Stack) -> str:
    """The server's clock now, in UTC, as `--to` takes it."""
    code, out = psql(
        stack,
        gateway_url(stack),
        "select to_char(clock_timestamp() at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'",
    )
    assert code == 0, out
    return out.strip()


def _look(stack: Stack, volume: str, sql: str) -> str:
    """PostgreSQL on a restored volume with the stack's files, asked as the admin (socket)."""
    client = stack.engine.client()
    server = client.containers.run(
        stack.inspect(f"{PREFIX}-postgres")["Image"],
        ["postgres", "-c", f"config_file={CONF}", "-c", "listen_addresses="],
        detach=True, user="999:999", environment={"PGDATA": DATA}, network_mode="none",
        volumes={volume: {"bind": DATA, "mode": "rw"},
                 f"{PREFIX}-postgres-config": {"bind": CONFIG_DIR, "mode": "ro"}},
        tmpfs={"/var/run/postgresql": "uid=999,gid=999,mode=0700"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while server.exec_run(["pg_isready", "-h", "/var/run/postgresql"]).exit_code != 0:
            assert time.monotonic() < deadline, server.logs()[-3000:]
            time.sleep(1)
        code, out = server.exec_run(
            ["psql", "-h", "/var/run/postgresql", "-U", "vos_admin", "-d", "vos", "-At", "-c", sql],
            environment={"PGPASSWORD": stack.secret("credentials-postgres-admin-password")},
        )
        assert code == 0, out
        return str(out.decode()).strip()
    finally:
        server.remove(force=True)


@pytest.fixture(scope="module")
def restored(stack: Stack) -> Restored:
    """A restore to a moment before a table was dropped, with `vos-infra backup restore`'s
    code; the stack switches over to it (the last test) and stays on it."""
    setup = (
        "create table restored_rows (id int); "
        "insert into restored_rows select generate_series(1, 500)"
    )
    assert psql(stack, gateway_url(stack), setup)[0] == 0
    moment = _moment(stack)
    time.sleep(1.5)
    later = "insert into restored_rows values (501); drop table restored_rows"
    assert psql(stack, gateway_url(stack), later)[0] == 0
    now = datetime.datetime.now(datetime.UTC)
    client = stack.engine.client()
    before = {v.name for v in client.volumes.list()}
    done = restore(client, PREFIX, parse_target(moment, now), now)
    assert done.volume not in before
    return done


def test_a_restore_drill_gives_back_what_was_committed_before_the_moment(
    stack: Stack, restored: Restored
) -> None:
    assert restored.volume.startswith(f"{PREFIX}-postgres-restore-")
    assert any("recovery stopping before commit" in line for line in restored.replayed), restored
    assert any("selected new timeline" in line for line in restored.replayed), restored
    rows = _look(stack, restored.volume, "select count(*), max(id) from api_gateway.restored_rows")
    assert rows == "500|500"
    assert _look(stack, restored.volume, "select pg_is_in_recovery()") == "f"  # promoted
    # The stack's own server was never touched: the drop is still there.
    code, out = psql(stack, gateway_url(stack), "select 1 from restored_rows")
    assert code != 0 and "does not exist" in out, out


def test_the_sealed_copies_alone_restore_the_same_moment(stack: Stack, restored: Restored) -> None:
    """`restore --from-copies`: Barman's home opened from the copies' volume into a volume of
    its own (removed after), recovered from there: the same rows as from the service's own
    backups."""
    client = stack.engine.client()
    before = _stack_volumes(stack)
    now = datetime.datetime.now(datetime.UTC)
    done = restore(client, PREFIX, restored.target, now, from_copies=True)
    try:
        assert done.volume != restored.volume
        rows = _look(stack, done.volume, "select count(*), max(id) from api_gateway.restored_rows")
        assert rows == "500|500"
        assert any("recovery stopping before commit" in line for line in done.replayed), done
        assert _stack_volumes(stack) - before == {done.volume, files.finished_marker(done.volume)}
    finally:
        for volume in (done.volume, files.finished_marker(done.volume)):
            client.volumes.get(volume).remove(force=True)


class _Unreadable(Target):
    """A moment Barman cannot read: its recover step fails after the volume is made."""

    @property
    def barman_args(self) -> list[str]:
        return ["--target-time", "not a time", "--target-action", "promote"]


def _stack_volumes(stack: Stack) -> set[str]:
    """The stack's volumes (the tier's other process makes volumes of its own meanwhile)."""
    return {str(v.name) for v in stack.engine.client().volumes.list() if v.name.startswith(PREFIX)}


def test_a_failed_restore_leaves_no_volume_behind(stack: Stack) -> None:
    client = stack.engine.client()
    before = _stack_volumes(stack)
    now = datetime.datetime.now(datetime.UTC)
    # Before every backup: refused before anything is made, with the earliest moment.
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    with pytest.raises(RestoreError, match="no base backup ended before it; the earliest"):
        restore(client, PREFIX, Target(long_ago), now)
    # Barman's step fails: the volume made for it is removed.
    with pytest.raises(RestoreError, match="barman recover failed"):
        restore(client, PREFIX, _Unreadable(now - datetime.timedelta(seconds=1)), now)
    assert _stack_volumes(stack) == before


def _mounted(stack: Stack) -> str:
    """The volume the stack's PostgreSQL runs on."""
    mounts = {m["Destination"]: m for m in stack.inspect(f"{PREFIX}-postgres")["Mounts"]}
    return str(mounts[DATA]["Name"])


def _followed(stack: Stack, moment: float, volume: str) -> None:
    """The backup service follows the server on `volume`: its stream reset, a base backup
    ended after the moment, the service healthy (`barman check`), and it says so."""
    deadline = time.monotonic() + 240
    while not [b for b in _backups(stack) if float(b["end_time_timestamp"]) > moment]:
        assert time.monotonic() < deadline, stack.container(DEFINITION.dns_name).logs()[-3000:]
        time.sleep(2)
    stack.wait_healthy(NAME)
    said = b"switched over to " + volume.encode()
    deadline = time.monotonic() + 120
    while said not in (logs := stack.container(DEFINITION.dns_name).logs()):
        assert time.monotonic() < deadline, logs[-3000:]
        time.sleep(2)


def test_the_stack_switches_over_to_the_restore_keeping_its_own_and_its_backups_go_on(
    stack: Stack, restored: Restored, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine the program checks the volume on: the Docker provider's `docker:host`,
    # set in the stack's config from here on (DOCKER_HOST, its default, is not set).
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    values = {**stack.config.values, "docker:host": stack.engine.url}
    stack.config = StackConfig(values, list(stack.config.secret_keys))
    client, own = stack.engine.client(), f"{PREFIX}-postgres-data"
    assert _mounted(stack) == own
    # A restore that is not there (Docker would make it empty): refused at preview.
    missing = f"{PREFIX}-postgres-restore-20200101T000000Z"
    with pytest.raises(Exception, match=f"no volume '{missing}' on the stack's Docker engine"):
        stack.preview(backup={"postgres": {"restoredVolume": missing}})
    assert missing not in {v.name for v in client.volumes.list()}
    # A volume of that name made by hand, not by `backup restore` for this stack.
    forged = client.volumes.create(missing)
    try:
        with pytest.raises(Exception, match="was not made by `vos-infra backup restore`"):
            stack.preview(backup={"postgres": {"restoredVolume": missing}})
    finally:
        forged.remove(force=True)
    # A restore killed before its end: its volume and labels, not the marker made last.
    labels = client.volumes.get(restored.volume).attrs["Labels"]
    marker = client.volumes.get(files.finished_marker(restored.volume)).attrs["Labels"]
    assert marker == {"vos.stack": labels["vos.stack"], "vos.role": files.FINISHED_ROLE,
                      "vos.restore": restored.volume}  # fmt: skip
    killed = client.volumes.create(missing, labels=labels)
    try:
        with pytest.raises(Exception, match=f"the restore into '{missing}' did not finish"):
            stack.preview(backup={"postgres": {"restoredVolume": missing}})
    finally:
        killed.remove(force=True)
    # The restore still mounted by a container of the runbook's look at it (created is enough).
    look = client.containers.create(
        stack.inspect(f"{PREFIX}-postgres")["Image"], ["true"], name="restore-look",
        volumes={restored.volume: {"bind": DATA, "mode": "ro"}}, network_mode="none",
    )  # fmt: skip
    try:
        with pytest.raises(Exception, match="is used by restore-look"):
            stack.preview(backup={"postgres": {"restoredVolume": restored.volume}})
    finally:
        look.remove(force=True)

    switched = time.time()
    stack.update(backup={"postgres": {"restoredVolume": restored.volume}})
    assert _mounted(stack) == restored.volume
    assert own in {v.name for v in client.volumes.list()}  # kept, untouched
    # The gateway's own login on the restore (the role job ran again for it): the rows of
    # the moment, the table the stack's server had dropped.
    code, out = psql(stack, gateway_url(stack), "select count(*), max(id) from restored_rows")
    assert (code, out.strip()) == (0, "500|500"), out
    job = stack.inspect(f"{PREFIX}-postgres-roles")
    assert f"VOS_SERVER_VOLUME={restored.volume}" in job["Config"]["Env"]
    assert job["State"]["ExitCode"] == 0
    # The backup service follows the new timeline: a base backup at once.
    _followed(stack, switched, restored.volume)

    # Its own volume was kept as it was: the drop is still there.
    tables = _look(stack, own, "select count(*) from pg_tables where tablename = 'restored_rows'")
    assert tables == "0"


def test_removing_the_setting_goes_back_to_the_stack_s_own_volume_and_backups_follow(
    stack: Stack, restored: Restored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch-over undone by the same update with the setting removed: PostgreSQL on
    its own volume as it was left, what was written meanwhile kept on the restore, the
    backup service's stream reset to the server it now streams from."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)  # docker:host stays in the config
    own = f"{PREFIX}-postgres-data"
    assert _mounted(stack) == restored.volume
    meanwhile = "insert into restored_rows values (600)"
    assert psql(stack, gateway_url(stack), meanwhile)[0] == 0
    back = time.time()
    stack.update(backup=_without_restore(stack))
    assert _mounted(stack) == own
    code, out = psql(stack, gateway_url(stack), "select 1 from restored_rows")
    assert code != 0 and "does not exist" in out, out  # the drop, as the own volume had it
    _followed(stack, back, own)
    # Kept on the restore, which nothing uses any more.
    rows = _look(stack, restored.volume, "select count(*), max(id) from api_gateway.restored_rows")
    assert rows == "501|600"


def _without_restore(stack: Stack) -> dict[str, Any]:
    """The stack's `backup` object as `pulumi config rm --path` of the setting leaves it."""
    current = stack.merged("backup", {})
    postgres = {k: v for k, v in current.get("postgres", {}).items() if k != "restoredVolume"}
    return {**current, "postgres": postgres}
