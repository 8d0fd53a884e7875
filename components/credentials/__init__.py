"""Generated credentials (pulumi-random) and the catalogue of what is needed."""

from components.credentials.catalogue import CredentialSpec, credential_specs
from components.credentials.component import Credentials, CredentialsArgs

__all__ = ["CredentialSpec", "Credentials", "CredentialsArgs", "credential_specs"]
