"""Generated credentials (pulumi-random) and which ones the platform needs."""

from components.credentials.component import Credentials, CredentialsArgs
from components.credentials.specs import CredentialSpec, credential_specs

__all__ = ["CredentialSpec", "Credentials", "CredentialsArgs", "credential_specs"]
