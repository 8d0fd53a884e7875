"""The admin password's bcrypt hash: checked by bcrypt itself, stable across evaluations."""

from __future__ import annotations

import bcrypt

from components.prometheus.web_password import COST, web_password_hash


def test_the_hash_verifies_the_password_and_only_it() -> None:
    hashed = web_password_hash("correct horse", "admin").encode()
    assert hashed.startswith(f"$2b${COST:02d}$".encode())
    assert bcrypt.checkpw(b"correct horse", hashed)
    assert not bcrypt.checkpw(b"correct horsf", hashed)


def test_the_same_password_gives_the_same_file_and_others_do_not() -> None:
    # Stable: an unchanged password must not replace the container at every `pulumi up`.
    assert web_password_hash("pw-1", "admin") == web_password_hash("pw-1", "admin")
    assert web_password_hash("pw-1", "admin") != web_password_hash("pw-2", "admin")
    # Equal passwords of two users do not share a salt.
    assert web_password_hash("pw-1", "admin")[:29] != web_password_hash("pw-1", "other")[:29]
