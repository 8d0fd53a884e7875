"""Outbound HTTPS calls as the contract says ("Outbound calls"): through the egress proxy
`HTTPS_PROXY` names, with TLS to the proxy verified with the platform CA and the app's client
certificate as its identity, then CONNECT and the app's own TLS to the outside host inside
the tunnel (the proxy never sees into it), verified with the system's CAs and, for an API
with a private CA, the certificate in EXTRA_CA_FILE (an operator secret, EXTRA_CA). httpx
does the TLS inside TLS.

A URL to fetch may come from a task, so from a caller: it is fetched only through the proxy
(whose allow-list decides), never directly, and never one of the stack's own names
(`NO_PROXY`), so no caller can make the agent reach the platform's insides."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from vos_reference.environment import Environment
from vos_reference.secret_file import SecretFile

TIMEOUT_S = 15
BODY_LIMIT = 2000


@dataclass(frozen=True)
class Fetched:
    status: int
    body: str


def _variable(*names: str) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


class Refused(ValueError):
    """Not fetched: not https, an internal name, or no proxy to go through."""


def _internal(host: str, no_proxy: str) -> bool:
    """One of the stack's own names (or an address): `vault.` is `vault`."""
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
        return True  # an address, not a name: the allow-lists hold names only
    except ValueError:
        pass
    for entry in filter(None, (e.strip().lower().rstrip(".") for e in no_proxy.split(","))):
        if entry == "*" or host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")):
            return True
    return False


class Outbound:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.proxy = _variable("HTTPS_PROXY", "https_proxy")
        self.no_proxy = _variable("NO_PROXY", "no_proxy")
        extra = _variable("EXTRA_CA_FILE")
        self.extra_ca = SecretFile(extra) if extra else None

    def _outside_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        extra = self.extra_ca.value() if self.extra_ca else ""
        if extra:  # re-read each call: a rotated CA is taken without a restart
            context.load_verify_locations(cadata=extra)
        return context

    def _proxy(self) -> httpx.Proxy:
        context = ssl.create_default_context(cafile=self.env.ca)
        context.load_cert_chain(self.env.client_cert, self.env.client_key)
        return httpx.Proxy(self.proxy, ssl_context=context)

    async def get(self, url: str) -> Fetched:
        """GET `url`; raises Refused before any connection, httpx.HTTPError when it cannot
        be reached (the proxy's refusal included)."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise Refused("only https URLs are fetched")
        if not self.proxy:
            raise Refused("no egress proxy (HTTPS_PROXY): nothing is fetched directly")
        if _internal(parts.hostname.lower(), self.no_proxy):
            raise Refused(f"{parts.hostname} is one of the stack's own names or an address")
        async with (
            httpx.AsyncClient(
                proxy=self._proxy(),
                verify=self._outside_context(),
                trust_env=False,
                timeout=TIMEOUT_S,
                follow_redirects=False,
            ) as client,
            client.stream("GET", url) as answer,
        ):
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) >= BODY_LIMIT:
                    break  # a huge answer is cut, not read to its end
            text = body[:BODY_LIMIT].decode(answer.encoding or "utf-8", errors="replace")
            return Fetched(answer.status_code, text)
