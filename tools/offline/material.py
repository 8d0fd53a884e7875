"""Real key material for the resource types of pulumi-tls and pulumi-random.

Each function takes a resource's inputs (wire names, as the engine would pass them to the
provider) and returns the outputs the provider would compute, following the semantics of
the upstream Terraform tls and random providers: PEM encodings, allowed_uses mapped to key
usage and extended key usage, SANs and subject copied from the CSR, random 128-bit serials.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
import string
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Props = Mapping[str, Any]
PrivateKeyTypes = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "P224": ec.SECP224R1(),
    "P256": ec.SECP256R1(),
    "P384": ec.SECP384R1(),
    "P521": ec.SECP521R1(),
}

# allowed_uses name -> cryptography's KeyUsage argument
_KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
_EXTENDED_USAGES = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}
_SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "streetAddresses": NameOID.STREET_ADDRESS,
    "postalCode": NameOID.POSTAL_CODE,
    "serialNumber": NameOID.SERIAL_NUMBER,
}


_PARSED_LIMIT = 4096
_parsed: OrderedDict[str, PrivateKeyTypes] = OrderedDict()
_parsed_lock = threading.Lock()


def _remember(pem: str, key: PrivateKeyTypes) -> None:
    with _parsed_lock:
        _parsed[pem] = key
        _parsed.move_to_end(pem)
        while len(_parsed) > _PARSED_LIMIT:
            _parsed.popitem(last=False)


def _pem_key(pem: str) -> PrivateKeyTypes:
    """The key object of a PEM. A key this module generated is the object it generated
    (both its encodings are remembered): loading an RSA key checks it, a quarter of a
    second for RSA-4096, and that was most of an RSA evaluation (each key is signed with
    right after it is made). A PEM from elsewhere is loaded, checked, once. Keys are
    immutable; the mocks call this from several threads."""
    with _parsed_lock:
        key = _parsed.get(pem)
    if key is not None:
        return key
    loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(
        loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ValueError(f"unsupported key type {type(loaded).__name__}")
    _remember(pem, loaded)
    return loaded


def _signing_hash(key: PrivateKeyTypes) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def private_key(inputs: Props) -> dict[str, Any]:
    algorithm = inputs.get("algorithm")
    key: PrivateKeyTypes
    if algorithm == "RSA":
        key = rsa.generate_private_key(
            public_exponent=65537, key_size=int(inputs.get("rsaBits") or 2048)
        )
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ECDSA":
        key = ec.generate_private_key(_CURVES[str(inputs.get("ecdsaCurve") or "P224")])
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
        traditional = serialization.PrivateFormat.PKCS8
    else:
        raise ValueError(f"tls:PrivateKey: unsupported algorithm {algorithm!r}")
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, traditional, serialization.NoEncryption()
    ).decode()
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _remember(pem, key)
    _remember(pkcs8, key)
    return {
        **inputs,
        "privateKeyPem": pem,
        "privateKeyPemPkcs8": pkcs8,
        "publicKeyPem": public.decode(),
        "publicKeyFingerprintSha256": hashlib.sha256(der).hexdigest(),
        "id": hashlib.sha1(der, usedforsecurity=False).hexdigest(),
    }


def _subject(subject: Props | None) -> x509.Name:
    attributes = []
    for field, oid in _SUBJECT_FIELDS.items():
        value = (subject or {}).get(field)
        values = value if isinstance(value, list) else [value]
        attributes += [x509.NameAttribute(oid, str(v)) for v in values if v]
    return x509.Name(attributes)


def _sans(dns_names: Any, ip_addresses: Any, uris: Any) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names or []]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses or []]
    names += [x509.UniformResourceIdentifier(u) for u in uris or []]
    return names


def _validity(inputs: Props) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return start, start + dt.timedelta(hours=int(inputs.get("validityPeriodHours") or 0))


def _usage_extensions(builder: x509.CertificateBuilder, inputs: Props) -> x509.CertificateBuilder:
    uses = set(inputs.get("allowedUses") or [])
    unknown = uses - set(_KEY_USAGES) - set(_EXTENDED_USAGES)
    if unknown:
        raise ValueError(f"unsupported allowed_uses: {sorted(unknown)}")
    flags = {arg: (name in uses) for name, arg in _KEY_USAGES.items()}
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [oid for name, oid in _EXTENDED_USAGES.items() if name in uses]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    is_ca = bool(inputs.get("isCaCertificate"))
    path_length = inputs.get("maxPathLength")
    return builder.add_extension(
        x509.BasicConstraints(
            ca=is_ca, path_length=int(path_length) if is_ca and path_length is not None else None
        ),
        critical=True,
    )


def _certificate_outputs(inputs: Props, cert: x509.Certificate) -> dict[str, Any]:
    early = dt.timedelta(hours=int(inputs.get("earlyRenewalHours") or 0))
    now = dt.datetime.now(dt.UTC)
    return {
        **inputs,
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        "validityEndTime": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "readyForRenewal": now >= cert.not_valid_after_utc - early,
        "id": str(cert.serial_number),
    }


def self_signed_cert(inputs: Props) -> dict[str, Any]:
    key = _pem_key(str(inputs["privateKeyPem"]))
    name = _subject(inputs.get("subject"))
    start, end = _validity(inputs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(start)
        .not_valid_after(end)
    )
    sans = _sans(inputs.get("dnsNames"), inputs.get("ipAddresses"), inputs.get("uris"))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(ski, critical=False)
    if inputs.get("setAuthorityKeyId"):
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    builder = _usage_extensions(builder, inputs)
    return _certificate_outputs(inputs, builder.sign(key, _signing_hash(key)))


def cert_request(inputs: Props) -> dict[str, Any]:
    key = _pem_key(str(inputs["privateKeyPem"]))
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(inputs.get("subject")))
    sans = _sans(inputs.get("dnsNames"), inputs.get("ipAddresses"), inputs.get("uris"))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = builder.sign(key, _signing_hash(key))
    return {**inputs, "certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}


def locally_signed_cert(inputs: Props) -> dict[str, Any]:
    csr = x509.load_pem_x509_csr(str(inputs["certRequestPem"]).encode())
    if not csr.is_signature_valid:
        raise ValueError("tls:LocallySignedCert: the certificate request's signature is invalid")
    ca_key = _pem_key(str(inputs["caPrivateKeyPem"]))
    ca_cert = x509.load_pem_x509_certificate(str(inputs["caCertPem"]).encode())
    if ca_cert.public_key() != ca_key.public_key():
        raise ValueError("tls:LocallySignedCert: ca_private_key_pem does not match ca_cert_pem")
    start, end = _validity(inputs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(start)
        .not_valid_after(end)
    )
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        builder = builder.add_extension(san.value, critical=False)
    except x509.ExtensionNotFound:
        pass
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False
        )
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
    )
    builder = _usage_extensions(builder, inputs)
    return _certificate_outputs(inputs, builder.sign(ca_key, _signing_hash(ca_key)))


DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def random_password(inputs: Props) -> dict[str, Any]:
    """Same rules as random_password: classes on by default, minimums honoured."""
    length = int(inputs["length"])
    classes = []
    for flag, minimum, alphabet in (
        ("upper", "minUpper", string.ascii_uppercase),
        ("lower", "minLower", string.ascii_lowercase),
        ("numeric", "minNumeric", string.digits),
        ("special", "minSpecial", str(inputs.get("overrideSpecial") or DEFAULT_SPECIAL)),
    ):
        if inputs.get(flag, True) is not False:
            classes.append((alphabet, int(inputs.get(minimum) or 0)))
    if not classes:
        raise ValueError("random:RandomPassword: every character class is disabled")
    required = sum(m for _, m in classes)
    if required > length:
        raise ValueError(f"random:RandomPassword: minimums ({required}) exceed length {length}")
    rng = secrets.SystemRandom()
    chars = [secrets.choice(alphabet) for alphabet, minimum in classes for _ in range(minimum)]
    pool = "".join(alphabet for alphabet, _ in classes)
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return {**inputs, "result": "".join(chars), "id": "none"}


GENERATORS = {
    "tls:index/privateKey:PrivateKey": private_key,
    "tls:index/selfSignedCert:SelfSignedCert": self_signed_cert,
    "tls:index/certRequest:CertRequest": cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": locally_signed_cert,
    "random:index/randomPassword:RandomPassword": random_password,
}
