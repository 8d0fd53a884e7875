"""Private CA and certificates (pulumi-tls)."""

from components.pki.component import IssuedCertificate, Pki, PkiArgs
from components.pki.specs import CertSpec, certificate_specs

__all__ = ["CertSpec", "IssuedCertificate", "Pki", "PkiArgs", "certificate_specs"]
