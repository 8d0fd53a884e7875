"""SCRAM-SHA-256 verifiers as PostgreSQL stores them (rolpassword).

Pre-hashing lets the role job set a password without ever sending it in clear text
(`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'` stores the verifier as is).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from scramp import ScramMechanism

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def _salt(password: str, role: str) -> bytes:
    # Derived from the password (not random) so the verifier only changes when the password
    # does: the role job, whose input is the verifiers, is then re-run exactly on rotation.
    # The role name keeps equal passwords of different roles from sharing a verifier.
    return hmac.new(
        password.encode(), f"vos-infra scram salt:{role}".encode(), hashlib.sha256
    ).digest()[:16]


def verifier(password: str, role: str) -> str:
    salt, stored_key, server_key, iterations = ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, iteration_count=ITERATIONS, salt=_salt(password, role)
    )

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
