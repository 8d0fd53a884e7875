"""Errors of `vos-infra contract verify` (importable without Docker's client library)."""


class VerifyError(Exception):
    """The check could not run at all (no engine, no such image)."""
