"""Readiness (the contract's `/readyz`): 503 until every secret the app needs is rendered
and every dependency answers; which ones are missing is said, never their values."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vos_reference.environment import Database, Environment
from vos_reference.memory import Memory
from vos_reference.secret_file import SecretFile


class Background:
    """A dependency check run in a thread of its own, one at a time, at most every
    OK_INTERVAL_S while it passes and FAILING_INTERVAL_S while it fails: /readyz answers at
    once with the last result (failing until the first one completes), so a dependency that
    hangs (a name that does not resolve, a server that does not answer) cannot hang the
    probe or the healthcheck, and no caller of the public /readyz can make the app open
    connection after connection. A check still running after DEADLINE_S counts as failing:
    a dependency that passed and then hangs is not reported ready on the old answer."""

    OK_INTERVAL_S, FAILING_INTERVAL_S, DEADLINE_S = 10.0, 2.0, 5.0

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check
        self._lock = threading.Lock()
        self._ok, self._running, self._next, self._started = False, False, 0.0, 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._running:
                return self._ok and now - self._started < self.DEADLINE_S
            if now >= self._next:
                self._running, self._started = True, now
                threading.Thread(target=self._run, daemon=True).start()
            return self._ok

    def _run(self) -> None:
        try:
            ok = bool(self.check())
        except Exception:
            ok = False
        interval = self.OK_INTERVAL_S if ok else self.FAILING_INTERVAL_S
        with self._lock:
            self._ok, self._running, self._next = ok, False, time.monotonic() + interval


class Readiness:
    def __init__(
        self, env: Environment, secrets: dict[str, SecretFile], memory: bool = False
    ) -> None:
        """`memory`: the app keeps data in its Weaviate collection (the agent), so Weaviate
        is a dependency of its readiness."""
        self.env = env
        self.secrets = secrets
        self.checks: dict[str, Callable[[], bool]] = {}
        if env.database:
            database = env.database
            self.checks["postgres"] = Background(lambda: self._database(database))
        self.memory = Memory(env.weaviate, env.ca) if env.weaviate and memory else None
        if self.memory:
            self.checks["weaviate"] = Background(self.memory.ready)

    def waiting_for(self) -> list[str]:
        missing = [name for name, secret in self.secrets.items() if not secret.ready()]
        missing += [name for name, check in self.checks.items() if not check()]
        return missing

    def _database(self, database: Database) -> bool:
        """A verified-TLS login as the app's own role."""
        try:
            with psycopg.connect(
                host=database.host,
                port=database.port,
                dbname=database.database,
                user=database.user,
                password=SecretFile(database.password_file).value(),
                sslmode=database.sslmode,
                sslrootcert=self.env.ca,
                sslcert=self.env.client_cert,
                sslkey=self.env.client_key,
                connect_timeout=3,
                options="-c statement_timeout=3000",
            ) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


def probe_routes(readiness: Readiness) -> list[Route]:
    """`/healthz` (the process answers) and `/readyz` (503 with what it waits for)."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        missing = await asyncio.to_thread(readiness.waiting_for)
        if missing:
            return JSONResponse({"status": "starting", "waiting_for": missing}, 503)
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", health), Route("/readyz", ready)]
