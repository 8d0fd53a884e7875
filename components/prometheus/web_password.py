"""The bcrypt hash Prometheus's web config (exporter-toolkit basic_auth_users) checks.

bcrypt salts every hash; a fresh salt per evaluation would change the file, and so replace
the container, on every `pulumi up`. The salt is derived from the password instead (as the
RabbitMQ hashes are): the file changes only when the password does. bcrypt itself does the
hashing."""

from __future__ import annotations

import hashlib
import hmac

import bcrypt

COST = 10
"""Work factor: checked on each uncached request; the toolkit caches good credentials."""
_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def web_password_hash(password: str, user: str) -> str:
    digest = hmac.new(
        password.encode(), f"vos-infra prometheus salt:{user}".encode(), hashlib.sha256
    ).digest()
    # 22 characters of bcrypt's base64; the last one carries 2 bits only, so it is taken
    # from the characters whose 4 low bits are zero (bcrypt ignores them anyway).
    salt = "".join(_ALPHABET[b % 64] for b in digest[:21]) + ".Oeu"[digest[21] % 4]
    return bcrypt.hashpw(password.encode(), f"$2b${COST:02d}${salt}".encode()).decode()
