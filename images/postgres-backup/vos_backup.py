"""The backup service's main process: Barman kept at work, and what it did as metrics.

Every minute `barman cron` (it keeps pg_receivewal streaming through the replication slot,
files the WAL it received and applies the retention policy); a base backup whenever the
cron schedule comes round, and in the next minute while the server has none, since until
its first base backup the WAL alone restores nothing. Barman schedules neither itself.
Switched over to another volume (a restore, or back), Barman's stream is reset to the new
server's timeline and a base backup taken at once (vos_switchover.py).
After each round, what Barman keeps is copied, sealed, to the off-host store
(vos_offsite.py) when one is configured, Weaviate is backed up on its own schedule
(vos_weaviate.py) when the stack says so, and what Barman says (its backups, its checks),
how the copy and Weaviate's backups went become Prometheus metrics on an HTTPS endpoint
that only the metrics CA's scrape identity may read.

Runs inside the image (Debian's python3, python3-croniter, python3-prometheus-client);
vos-infra renders its arguments (components/postgres_backup/containers.py).
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import vos_offsite  # these beside this file, in the image and in the project
import vos_seal
import vos_stores
import vos_weaviate
import vos_weaviate_api
from croniter import croniter
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import MetricsHandler
from vos_barman import Barman, barman_home
from vos_switchover import Switchover

TICK_S = 60.0
HANDSHAKE_TIMEOUT_S = 10.0


def next_backup(schedule: str, after: datetime.datetime) -> datetime.datetime:
    """The next time the schedule (UTC) comes round strictly after `after`."""
    found: datetime.datetime = croniter(schedule, after).get_next(datetime.datetime)
    return found


def period_s(schedule: str, after: datetime.datetime) -> float:
    """Seconds between the schedule's next two slots: how old the newest backup may get."""
    first = next_backup(schedule, after)
    return (next_backup(schedule, first) - first).total_seconds()


class Worker(Protocol):
    """What the loop asks of Barman (Barman above; a recording stand-in in the unit tests)."""

    def cron(self) -> None: ...
    def backups(self) -> list[dict[str, Any]] | None: ...
    def checks(self) -> dict[str, bool]: ...
    def backup(self) -> bool: ...
    def reset_stream(self) -> bool: ...


class Status:
    """The metrics, refreshed after every round from what Barman reports."""

    def __init__(self, schedule: str, home: str | None = None) -> None:
        self.schedule, self.home = schedule, home
        self.registry = CollectorRegistry()
        # The filesystem Barman's home is on: on one host the Docker data root's, which
        # holds PostgreSQL's volume too (a full one stops the database and its backups).
        self.fs_avail = Gauge("vos_backup_filesystem_avail_bytes", "bytes free on the "
                              "filesystem of Barman's home", registry=self.registry)  # fmt: skip
        self.fs_size = Gauge("vos_backup_filesystem_size_bytes", "size of that filesystem",
                             registry=self.registry)  # fmt: skip
        self.count = Gauge("vos_backup_base_backups", "base backups kept", registry=self.registry)
        self.last_end = Gauge(
            "vos_backup_last_base_backup_end_timestamp_seconds",
            "when the newest completed base backup ended (0: none yet)",
            registry=self.registry,
        )
        self.last_size = Gauge(
            "vos_backup_last_base_backup_size_bytes", "size of the newest base backup",
            registry=self.registry,
        )  # fmt: skip
        self.period = Gauge(
            "vos_backup_schedule_period_seconds",
            "time between two scheduled base backups (backup.postgres.schedule)",
            registry=self.registry,
        )
        self.check = Gauge("vos_backup_check_ok", "1 when `barman check` passes this check",
                           ["check"], registry=self.registry)  # fmt: skip
        self.failures = Counter("vos_backup_base_backup_failures", "base backups that failed",
                                registry=self.registry)  # fmt: skip
        self.copied = Gauge(
            "vos_backup_offsite_last_success_timestamp_seconds",
            "when a copy round to the off-host store last succeeded (0: never, or no store)",
            registry=self.registry,
        )
        self.copy_failures = Counter(
            "vos_backup_offsite_failures", "copy rounds to the off-host store that failed",
            registry=self.registry,
        )  # fmt: skip
        self.copy_objects = Gauge(
            "vos_backup_offsite_objects", "sealed objects in the off-host store",
            registry=self.registry,
        )  # fmt: skip
        self.copy_bytes = Counter(
            "vos_backup_offsite_uploaded_bytes", "sealed bytes put in the off-host store",
            registry=self.registry,
        )  # fmt: skip
        self.weaviate_last = Gauge(
            "vos_backup_weaviate_last_success_timestamp_seconds",
            "when a Weaviate backup last finished, or Weaviate had nothing to back up (0: "
            "none yet)",
            registry=self.registry,
        )
        self.weaviate_seen = 0.0
        self.weaviate_empty = False
        self.weaviate_size = Gauge("vos_backup_weaviate_last_size_bytes", "size of the newest "
                                   "Weaviate backup", registry=self.registry)  # fmt: skip
        self.weaviate_kept = Gauge("vos_backup_weaviate_backups", "Weaviate backups kept in "
                                   "its backups volume", registry=self.registry)  # fmt: skip
        self.weaviate_period = Gauge(
            "vos_backup_weaviate_schedule_period_seconds",
            "time between two scheduled Weaviate backups (backup.weaviate.schedule)",
            registry=self.registry,
        )
        self.weaviate_failures = Counter(
            "vos_backup_weaviate_failures",
            "Weaviate backups that failed, and rounds whose copy or pruning failed",
            registry=self.registry,
        )
        self.round = Gauge(
            "vos_backup_round_end_timestamp_seconds",
            "when the loop last finished a round (it runs one a minute)",
            registry=self.registry,
        )

    def observe(self, barman: Worker, now: datetime.datetime) -> None:
        # Ask Barman first, then set everything: a scrape meanwhile sees one round or the
        # other, barring the instant of the sets; the round's end is set last.
        backups, checks = barman.backups(), barman.checks()
        if backups is not None:  # unknown this round: the last round's figures stay
            self.count.set(len(backups))
            newest = backups[-1] if backups else {}
            self.last_end.set(int(newest.get("end_time_timestamp") or 0))
            self.last_size.set(int(newest.get("size_bytes") or 0))
        self.period.set(period_s(self.schedule, now))
        if self.home is not None:
            usage = shutil.disk_usage(self.home)  # free: what an unprivileged writer gets
            self.fs_avail.set(usage.free)
            self.fs_size.set(usage.total)
        for name, ok in checks.items():
            self.check.labels(name).set(1 if ok else 0)
        self.round.set(now.timestamp())


class Copier(Protocol):
    """The off-host copy (Offsite below; a stand-in in the unit tests)."""

    def copy(self, now: datetime.datetime) -> vos_offsite.Report: ...


class Offsite:
    """Seals and puts what Barman filed since the last round, then prunes the store to the
    recovery window. The key file is read each round, so no key outlives its file (a
    rotation replaces the service anyway: components/postgres_backup/definition.py)."""

    def __init__(
        self, store: vos_stores.Store, key: str, server: str, scratch: str, window_days: int
    ) -> None:
        self.store, self.key, self.server = store, key, server
        self.scratch, self.window = scratch, datetime.timedelta(days=window_days)

    def copy(self, now: datetime.datetime) -> vos_offsite.Report:
        report = vos_offsite.push(
            Path(self.server), self.store, vos_seal.Key.read(self.key), Path(self.scratch)
        )
        report.pruned = vos_offsite.prune(self.store, self.window, now)
        return report


def copy_round(copier: Copier, status: Status, now: datetime.datetime) -> None:
    try:
        report = copier.copy(now)
    # The loop outlives a store that is away (a network, a credential, a full disk): the
    # failure is counted and logged, the alert reads the time of the last success.
    except Exception as error:
        status.copy_failures.inc()
        print(f"vos-backup: off-host copy failed: {error!r}", file=sys.stderr)
        return
    status.copy_objects.set(report.objects)
    status.copy_bytes.inc(report.uploaded_bytes)
    status.copied.set(now.timestamp())
    if report.uploaded or report.pruned:
        print(
            f"vos-backup: off-host copy: {report.uploaded} put ({report.uploaded_bytes} bytes), "
            f"{report.pruned} pruned, {report.objects} kept",
            file=sys.stderr,
        )


def weaviate_round(keeper: vos_weaviate.Keeper, status: Status, now: datetime.datetime) -> None:
    first = keeper.backups.next_slot(now)
    status.weaviate_period.set((keeper.backups.next_slot(first) - first).total_seconds())
    try:
        report = keeper.round(now)
    # As for the copies: the loop outlives Weaviate or the store being away.
    except Exception as error:
        status.weaviate_failures.inc()
        print(f"vos-backup: Weaviate backup round failed: {error!r}", file=sys.stderr)
        return
    if report.failed:
        status.weaviate_failures.inc()
        print(f"vos-backup: Weaviate backup failed: {report.failed}", file=sys.stderr)
    if report.copy_error:
        status.weaviate_failures.inc()
        print(f"vos-backup: Weaviate backups' copy failed: {report.copy_error}", file=sys.stderr)
    if report.done or report.empty:
        if report.done or not status.weaviate_empty:  # said once, not every round
            what = f"{report.done} ({report.size_bytes} bytes)" if report.done else "empty"
            print(f"vos-backup: Weaviate backup: {what}", file=sys.stderr)
        status.weaviate_seen = now.timestamp()
        status.weaviate_size.set(report.size_bytes)
    elif status.weaviate_seen == 0 and report.newest_at:
        # Restarted: the newest backup in the volume is the last one until the next.
        status.weaviate_seen = report.newest_at
        status.weaviate_size.set(report.newest_bytes)
    status.weaviate_last.set(status.weaviate_seen)
    status.weaviate_empty = report.empty
    if report.copied or report.removed:
        print(f"vos-backup: Weaviate backups: {report.copied} copied, {report.removed} removed",
              file=sys.stderr)  # fmt: skip
    status.weaviate_kept.set(report.kept)


def serve(
    barman: Worker,
    status: Status,
    now: Callable[[], datetime.datetime],
    sleep: Callable[[float], None],
    rounds: int | None = None,
    copier: Copier | None = None,
    switchover: Switchover | None = None,
    weaviate: vos_weaviate.Keeper | None = None,
) -> None:
    """The loop; `rounds` bounds it (tests), None runs for ever. A server without a base
    backup (a new stack, or every attempt failed so far) gets one at the next round, and so
    does one just switched over to (its timeline begins there), until one succeeds. A reset
    that fails (the new server not up yet) is tried again the next round."""
    due = next_backup(status.schedule, now())
    owed = False
    done = 0
    while rounds is None or done < rounds:
        if switchover is not None and switchover.pending() and not owed:
            owed = barman.reset_stream()
        barman.cron()
        if owed or now() >= due or barman.backups() == []:
            if barman.backup():
                if owed and switchover is not None:
                    switchover.done()
                    print(f"vos-backup: switched over to {switchover.volume}", file=sys.stderr)
                owed = False
            else:
                status.failures.inc()
            due = next_backup(status.schedule, now())
        if copier is not None:
            copy_round(copier, status, now())
        if weaviate is not None:
            weaviate_round(weaviate, status, now())
        status.observe(barman, now())
        done += 1
        sleep(TICK_S)


class TlsMetricsServer(ThreadingHTTPServer):
    """/metrics over TLS 1.2+, for clients with a certificate of the given CA only. The
    handshake runs in each request's own thread, bounded, so a client that stalls holds
    only its own thread."""

    daemon_threads = True

    def __init__(self, port: int, registry: CollectorRegistry, context: ssl.SSLContext) -> None:
        super().__init__(("", port), MetricsHandler.factory(registry))
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        super().finish_request(self.context.wrap_socket(request, server_side=True), client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        print(f"vos-backup: metrics client {client_address[0]}: {error}", file=sys.stderr)


def tls_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vos-backup")
    parser.add_argument("--config", required=True, help="barman.conf")
    parser.add_argument("--server", required=True, help="Barman's name for the server")
    parser.add_argument("--schedule", required=True, help="base backups: cron, UTC")
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--tls-cert", required=True, help="the service's certificate")
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--metrics-ca", required=True, help="the CA of the scrape identity")
    parser.add_argument("--server-volume", required=True, help="the volume PostgreSQL runs on")
    parser.add_argument("--own-volume", required=True, help="PostgreSQL's own data volume")
    parser.add_argument("--offsite-key", help="the key that seals the copies (none: no copy)")
    parser.add_argument("--offsite-scratch", help="where an object is sealed before the put")
    parser.add_argument("--offsite-window-days", type=int, default=7, help="copies kept")
    vos_stores.add_store_arguments(parser)
    parser.add_argument("--weaviate-url", help="Weaviate, to back it up (none: not)")
    parser.add_argument("--weaviate-ca", help="the CA of Weaviate's certificate")
    parser.add_argument("--weaviate-key", help="the backup user's API key file")
    parser.add_argument("--weaviate-backups", help="Weaviate's BACKUP_FILESYSTEM_PATH")
    parser.add_argument("--weaviate-schedule", default="30 3 * * *", help="cron, UTC")
    parser.add_argument("--weaviate-window-days", type=int, default=7, help="backups kept")
    args = parser.parse_args(argv)
    if not croniter.is_valid(args.schedule):
        parser.error(f"--schedule: not a cron expression: {args.schedule!r}")
    status = Status(args.schedule, barman_home(args.config))
    copier = None
    if args.offsite_key:
        if not (args.store_dir or args.s3_bucket) or not args.offsite_scratch:
            parser.error(
                "--offsite-key needs a store (--store-dir, --s3-bucket) and --offsite-scratch"
            )
        copier = Offsite(
            vos_stores.store_from(args),
            args.offsite_key,
            f"{barman_home(args.config)}/{args.server}",
            args.offsite_scratch,
            args.offsite_window_days,
        )
        status.copied.set(0)
    keeper = None
    if args.weaviate_url:
        if not (args.weaviate_ca and args.weaviate_key and args.weaviate_backups):
            parser.error("--weaviate-url needs --weaviate-ca, --weaviate-key, --weaviate-backups")
        if not croniter.is_valid(args.weaviate_schedule):
            parser.error(f"--weaviate-schedule: not a cron expression: {args.weaviate_schedule!r}")
        keeper = vos_weaviate.Keeper(
            vos_weaviate_api.WeaviateBackups(
                vos_weaviate_api.WeaviateApi(
                    args.weaviate_url, args.weaviate_key, args.weaviate_ca
                ),
                Path(args.weaviate_backups),
                lambda after: next_backup(args.weaviate_schedule, after),
                datetime.datetime.now(datetime.UTC),
            ),
            args.weaviate_window_days,
            copier.store if copier is not None else None,
            args.offsite_key,
            Path(args.offsite_scratch) if args.offsite_scratch else None,
        )
        status.weaviate_last.set(0)
    server = TlsMetricsServer(
        args.metrics_port,
        status.registry,
        tls_context(args.tls_cert, args.tls_key, args.metrics_ca),
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    serve(
        Barman(args.config, args.server),
        status,
        now=lambda: datetime.datetime.now(datetime.UTC),
        sleep=time.sleep,
        copier=copier,
        weaviate=keeper,
        switchover=Switchover(
            Path(barman_home(args.config)) / "vos-server-volume",
            args.server_volume,
            args.own_volume,
        ),
    )


if __name__ == "__main__":
    main()
