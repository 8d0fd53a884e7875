"""How the Vault providers reach Vault: from the environment, at run time, per call.

The address, token and CA come from the environment of the process that runs the provider
(the Pulumi CLI passes its own environment on): VAULT_ADDR, VAULT_TOKEN or VAULT_TOKEN_FILE
(or ~/.vault-token), VAULT_CACERT. Nothing here is stored on the provider object, so the
token never reaches inputs, outputs, state or the serialized provider. The token is read
at every call; a client per address, CA and token is kept in this module (dill cannot
serialize live clients), over one kept-alive HTTP session per address and CA, so a token
change takes effect at the next call.

Every failure is translated into one VaultError that names the setting to fix.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests
import requests.exceptions

TIMEOUT_SECONDS = 15


class VaultError(RuntimeError):
    """A Vault operation failed; the message says which setting to fix."""


@dataclass(frozen=True)
class Connection:
    address: str
    token: str
    verify: str | bool

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return f"Connection(address={self.address!r}, verify={self.verify!r})"


def _default_ca_bundle() -> str | bool:
    """Without VAULT_CACERT: the bundle requests would take from the environment."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        bundle = os.environ.get(name, "").strip()
        if bundle:
            return bundle
    return True


def token_from_env(needs: str = "") -> str:
    """The operator's token as the Vault CLI finds it: VAULT_TOKEN, else the file
    VAULT_TOKEN_FILE names, else ~/.vault-token (what `bao login` / `vault login` write).
    `needs`: what the token must be allowed, said when there is none."""
    token = os.environ.get("VAULT_TOKEN", "").strip()
    if not token:
        token_file = Path(os.environ.get("VAULT_TOKEN_FILE") or Path.home() / ".vault-token")
        if token_file.is_file():
            token = token_file.read_text().strip()
    if not token:
        raise VaultError(
            "no Vault token: set VAULT_TOKEN, or VAULT_TOKEN_FILE to a file holding one "
            f"(or log in so that ~/.vault-token exists){needs}"
        )
    return token


def connection_from_env(insecure_skip_verify: bool = False) -> Connection:
    address = os.environ.get("VAULT_ADDR", "").strip().rstrip("/")
    if not address:
        raise VaultError(
            "VAULT_ADDR is not set: export VAULT_ADDR=https://<vault host>:8200 "
            '(for the embedded development Vault: eval "$(scripts/vault.sh env)")'
        )
    if not address.startswith("https://"):
        raise VaultError(
            f"VAULT_ADDR={address} is not an https:// address; "
            "vos-infra reaches Vault over TLS only"
        )
    token = token_from_env()
    verify: str | bool = _default_ca_bundle()
    cacert = os.environ.get("VAULT_CACERT", "").strip()
    if cacert:
        if not Path(cacert).is_file():
            raise VaultError(f"VAULT_CACERT={cacert} does not exist; point it at Vault's CA (PEM)")
        verify = cacert
    if insecure_skip_verify:
        verify = False
    return Connection(address, token, verify)


_SESSIONS: dict[tuple[str, str | bool], requests.Session] = {}
_CLIENTS: dict[tuple[str, str | bool], tuple[str, hvac.Client]] = {}
_LOCK = threading.Lock()


def _new_session(connection: Connection) -> requests.Session:
    """A session that reads the environment once. requests re-reads it on every request
    when `trust_env` is on (proxy variables scanned across the whole environment, ~/.netrc
    looked up): about a fifth of each request's time on loopback, profiled. The provider
    process's environment is fixed when the engine starts it, so the proxy for Vault's
    address (HTTPS_PROXY, NO_PROXY, ...) is resolved here, once, as requests would resolve
    it. netrc is not read: Vault is reached with its token, never with basic auth."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(connection.address)
    session.verify = connection.verify
    return session


def _session(connection: Connection) -> requests.Session:
    """One HTTP session (kept-alive TLS connections) per Vault address and CA, for the life
    of the provider process: a new TLS handshake per call was most of a write's time. The
    session holds no credential, and nothing of this is on the pickled provider."""
    key = (connection.address, connection.verify)
    with _LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = _new_session(connection)
    return session


def client(connection: Connection) -> hvac.Client:
    """An hvac client for this address, CA and token. The token is read from the
    environment at every call (connection_from_env); the client built for it is kept until
    another token comes, so a changed token takes effect at the next call. Clients live in
    this module, never on the provider object that dill serializes into the state."""
    key = (connection.address, connection.verify)
    with _LOCK:
        kept = _CLIENTS.get(key)
    if kept is not None and kept[0] == connection.token:
        return kept[1]
    built = hvac.Client(
        url=connection.address,
        token=connection.token,
        verify=connection.verify,
        timeout=TIMEOUT_SECONDS,
        session=_session(connection),
    )
    with _LOCK:
        _CLIENTS[key] = (connection.token, built)
    return built


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "certificate verify failed",
        "Connection refused",
        "Name or service not known",
        "timed out",
        "hostname mismatch",
        "doesn't match",
    ):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__


@contextmanager
def translated(connection: Connection, action: str) -> Iterator[hvac.Client]:
    """Yield a client; turn whatever goes wrong into a VaultError naming what to fix."""
    vault = client(connection)
    try:
        yield vault
    except VaultError:
        raise
    except requests.exceptions.SSLError as exc:
        raise VaultError(
            f"{action}: TLS verification of Vault at VAULT_ADDR={connection.address} failed "
            f"({_reason(exc)}). Set VAULT_CACERT to the PEM file of the CA that signed "
            "Vault's certificate"
        ) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise VaultError(
            f"{action}: cannot reach Vault at VAULT_ADDR={connection.address} ({_reason(exc)}). "
            "Check VAULT_ADDR and that Vault is running "
            "(embedded dev Vault: scripts/vault.sh start)"
        ) from None
    except hvac.exceptions.VaultDown:
        raise VaultError(
            f"{action}: Vault at VAULT_ADDR={connection.address} is sealed. Unseal it "
            "(bao operator unseal; for the embedded dev Vault: scripts/vault.sh start)"
        ) from None
    except hvac.exceptions.Forbidden:
        if not _token_valid(connection):
            raise VaultError(
                f"{action}: Vault rejected the token (VAULT_TOKEN / VAULT_TOKEN_FILE) as invalid "
                "or expired; set a valid token"
            ) from None
        raise VaultError(
            f"{action}: permission denied; the policies of the token in VAULT_TOKEN do not "
            "allow this operation"
        ) from None
    except hvac.exceptions.VaultError as exc:
        # Anything else Vault refused: its own words, without a traceback.
        raise VaultError(
            f"{action}: Vault at VAULT_ADDR={connection.address} refused the request: "
            f"{_reason(exc)}"
        ) from None


def _token_valid(connection: Connection) -> bool:
    try:
        client(connection).auth.token.lookup_self()
    except hvac.exceptions.Forbidden:
        return False
    except Exception:  # any other failure: we cannot tell, so do not blame the token
        return True
    return True


def preflight(connection: Connection) -> None:
    """Fail early (at preview) when Vault is unreachable, sealed or the token is bad."""
    with translated(connection, "checking Vault") as vault:
        status: Any = vault.sys.read_health_status(method="GET")
        # read_health_status returns the JSON body for 200 and a Response for other codes.
        body = status if isinstance(status, dict) else status.json()
        if body.get("sealed"):
            raise hvac.exceptions.VaultDown()
        if not body.get("initialized", True):
            raise VaultError(
                f"checking Vault: Vault at VAULT_ADDR={connection.address} is not initialized"
            )
        vault.auth.token.lookup_self()
