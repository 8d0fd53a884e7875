"""Readiness (the contract's `/readyz`): 503 until every secret the app needs is rendered
and every dependency answers; which ones are missing is said, never their values."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vos_reference.environment import Database, Environment
from vos_reference.secret_file import SecretFile


class Readiness:
    def __init__(self, env: Environment, secrets: dict[str, SecretFile]) -> None:
        self.env = env
        self.secrets = secrets
        self.checks: dict[str, Callable[[], bool]] = {}
        self._database_checked_until = 0.0
        self._database_ok = False
        if env.database:
            database = env.database
            self.checks["postgres"] = lambda: self._database(database)

    def waiting_for(self) -> list[str]:
        missing = [name for name, secret in self.secrets.items() if not secret.ready()]
        missing += [name for name, check in self.checks.items() if not check()]
        return missing

    def _database(self, database: Database) -> bool:
        """A verified-TLS login as the app's own role, at most every 10 s whatever it gave
        (a caller of the public /readyz cannot make it open connection after connection)."""
        if time.monotonic() < self._database_checked_until:
            return self._database_ok
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
            ) as connection:
                connection.execute("SELECT 1")
            self._database_ok = True
        except psycopg.Error:
            self._database_ok = False
        self._database_checked_until = time.monotonic() + 10
        return self._database_ok


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
