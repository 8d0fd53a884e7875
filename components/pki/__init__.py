"""Private CA and certificates (pulumi-tls)."""

from components.pki.catalogue import CertSpec, certificate_specs
from components.pki.component import IssuedCertificate, Pki, PkiArgs

__all__ = ["CertSpec", "IssuedCertificate", "Pki", "PkiArgs", "certificate_specs"]
