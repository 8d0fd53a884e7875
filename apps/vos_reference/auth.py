"""Who is calling (the contract's "Authentication"): the client API key (current or the
previous one, during a rollover), a JWT the gateway issued (HS256, with `exp` and `iat`, no
longer-lived than VOS_JWT_TTL_SECONDS), or an agent's internal key. Keys are compared in
constant time; a failure says nothing about why."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from functools import partial

import jwt

from vos_reference.secret_file import SecretFile

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Caller:
    kind: str
    """`client` (API key), `token` (JWT), `agent` (internal key)."""
    name: str


def same_secret(given: str, expected: str) -> bool:
    """Constant-time; any string compares, a lone surrogate too (never raises)."""
    encode = partial(str.encode, encoding="utf-8", errors="surrogatepass")
    return bool(expected) and hmac.compare_digest(encode(given), encode(expected))


class Authenticator:
    def __init__(
        self,
        api_keys: list[SecretFile],
        jwt_secret: SecretFile | None,
        agent_keys: dict[str, SecretFile],
        ttl_seconds: int,
    ) -> None:
        self.api_keys = api_keys
        self.jwt_secret = jwt_secret
        self.agent_keys = agent_keys
        self.ttl_seconds = ttl_seconds

    def caller(self, api_key: str | None, authorization: str | None) -> Caller | None:
        if api_key:
            # Named apart, so the logs show who still uses the key a rotation replaced
            # before the next rotation retires it.
            for key, name in zip(self.api_keys, ("api-key", "api-key-previous"), strict=False):
                if same_secret(api_key, key.value()):
                    return Caller("client", name)
            for name, key in self.agent_keys.items():
                if same_secret(api_key, key.value()):
                    return Caller("agent", name)
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token and self.jwt_secret:
            return self._token(token.strip())
        return None

    def _token(self, token: str) -> Caller | None:
        secret = self.jwt_secret.value() if self.jwt_secret else ""
        if not secret:
            return None
        try:
            claims = jwt.decode(
                token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]}
            )
        except jwt.InvalidTokenError:
            return None
        if int(claims["exp"]) - int(claims["iat"]) > self.ttl_seconds:
            return None  # not one this gateway issued
        return Caller("token", str(claims["sub"]))

    def issue(self, subject: str) -> str:
        secret = self.jwt_secret.value() if self.jwt_secret else ""
        if not secret:
            raise RuntimeError("no JWT secret yet")
        now = int(time.time())
        claims = {"sub": subject, "iat": now, "exp": now + self.ttl_seconds}
        return jwt.encode(claims, secret, algorithm=ALGORITHM)
