"""The platform's private CA and every leaf certificate, issued with pulumi-tls."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.pki.specs import CertSpec, KeySpec, allowed_uses, ca_common_name, key_spec
from stacks import Settings
from stacks.services import Issuer

ORGANIZATION = "VOS platform"


@dataclass(frozen=True)
class IssuedCertificate:
    spec: CertSpec
    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]


@dataclass(frozen=True)
class PkiArgs:
    settings: Settings
    specs: list[CertSpec]


def _key(name: str, key: KeySpec, trigger: int, parent: pulumi.Resource) -> tls.PrivateKey:
    return tls.PrivateKey(
        name,
        algorithm=key.algorithm,
        ecdsa_curve=key.ecdsa_curve,
        rsa_bits=key.rsa_bits,
        # Bumping the class's rotation counter replaces the key, and with it every
        # certificate that embeds it (their inputs are replace-on-change).
        opts=pulumi.ResourceOptions(parent=parent, replacement_trigger=trigger),
    )


@dataclass(frozen=True)
class _Ca:
    key: tls.PrivateKey
    cert: tls.SelfSignedCert


def _ca(
    name: str, common_name: str, settings: Settings, key: KeySpec, parent: pulumi.Resource
) -> _Ca:
    trigger = settings.rotation.counter("ca")
    ca_key = _key(f"{name}-key", key, trigger, parent)
    cert = tls.SelfSignedCert(
        f"{name}-cert",
        private_key_pem=ca_key.private_key_pem,
        is_ca_certificate=True,
        set_subject_key_id=True,
        max_path_length=0,
        subject=tls.SelfSignedCertSubjectArgs(
            common_name=common_name,
            organization=ORGANIZATION,
            organizational_unit=settings.stack,
        ),
        validity_period_hours=settings.tls.ca_validity_hours,
        early_renewal_hours=settings.tls.ca_early_renewal_hours,
        allowed_uses=allowed_uses("ca", key),
        opts=pulumi.ResourceOptions(parent=parent, replacement_trigger=trigger),
    )
    return _Ca(ca_key, cert)


class Pki(pulumi.ComponentResource):
    """The platform CA and the metrics CA (self-signed, no intermediates), plus one key, CSR
    and certificate per CertSpec, signed by the CA its spec names.

    Two roots because a TLS server can only tell "a certificate of a CA it trusts": a
    metrics endpoint that trusts the platform CA would serve every service's identity. The
    metrics CA issues only the scrape identities, and metrics endpoints trust only it."""

    ca_cert_pem: pulumi.Output[str]
    ca_private_key_pem: pulumi.Output[str]
    metrics_ca_cert_pem: pulumi.Output[str]
    metrics_ca_private_key_pem: pulumi.Output[str]
    readers_ca_cert_pem: pulumi.Output[str]
    readers_ca_private_key_pem: pulumi.Output[str]
    certificates: dict[str, IssuedCertificate]

    def __init__(
        self, name: str, args: PkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vos:security:Pki", name, None, opts)
        settings = args.settings
        tls_settings = settings.tls
        key = key_spec(tls_settings.key_algorithm)
        rotation = settings.rotation

        issuers: dict[Issuer, _Ca] = {
            "platform": _ca(
                f"{name}-ca", ca_common_name(settings.stack, "platform"), settings, key, self
            ),
            "metrics": _ca(
                f"{name}-metrics-ca",
                ca_common_name(settings.stack, "metrics"),
                settings,
                key,
                self,
            ),
            "readers": _ca(
                f"{name}-readers-ca",
                ca_common_name(settings.stack, "readers"),
                settings,
                key,
                self,
            ),
        }
        self.ca_cert_pem = issuers["platform"].cert.cert_pem
        self.ca_private_key_pem = pulumi.Output.secret(issuers["platform"].key.private_key_pem)
        self.metrics_ca_cert_pem = issuers["metrics"].cert.cert_pem
        self.metrics_ca_private_key_pem = pulumi.Output.secret(
            issuers["metrics"].key.private_key_pem
        )
        self.readers_ca_cert_pem = issuers["readers"].cert.cert_pem
        self.readers_ca_private_key_pem = pulumi.Output.secret(
            issuers["readers"].key.private_key_pem
        )

        self.certificates = {}
        for spec in args.specs:
            trigger = rotation.counter(spec.rotation_class)
            leaf_key = _key(f"{name}-{spec.name}-key", key, trigger, self)
            csr = tls.CertRequest(
                f"{name}-{spec.name}-csr",
                private_key_pem=leaf_key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(
                    common_name=spec.common_name,
                    organization=ORGANIZATION,
                    organizational_unit=settings.stack,
                ),
                dns_names=list(spec.dns_names),
                ip_addresses=list(spec.ip_addresses),
                opts=pulumi.ResourceOptions(parent=self),
            )
            issuer = issuers[spec.issuer]
            cert = tls.LocallySignedCert(
                f"{name}-{spec.name}-cert",
                cert_request_pem=csr.cert_request_pem,
                ca_private_key_pem=issuer.key.private_key_pem,
                ca_cert_pem=issuer.cert.cert_pem,
                validity_period_hours=tls_settings.validity_hours,
                early_renewal_hours=tls_settings.early_renewal_hours,
                allowed_uses=allowed_uses(spec.usage, key),
                set_subject_key_id=True,
                opts=pulumi.ResourceOptions(parent=self, replacement_trigger=trigger),
            )
            self.certificates[spec.name] = IssuedCertificate(
                spec, cert.cert_pem, pulumi.Output.secret(leaf_key.private_key_pem)
            )

        self.register_outputs(
            {
                "caCertPem": self.ca_cert_pem,
                "metricsCaCertPem": self.metrics_ca_cert_pem,
                "readersCaCertPem": self.readers_ca_cert_pem,
            }
        )
