"""Password hashes as RabbitMQ stores them (rabbit_password_hashing_sha256), so definitions
carry no password in clear text: base64(salt[4] + sha256(salt[4] + password))."""

from __future__ import annotations

import base64
import hashlib
import hmac

ALGORITHM = "rabbit_password_hashing_sha256"


def password_hash(password: str, user: str) -> str:
    # Salt derived from the password so the definitions (and so the container) change only
    # when a password does; the user name keeps equal passwords from sharing a hash.
    salt = hmac.new(
        password.encode(), f"vos-infra rabbitmq salt:{user}".encode(), hashlib.sha256
    ).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()
