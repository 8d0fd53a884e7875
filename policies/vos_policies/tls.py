"""TLS: key and certificate quality, every listener on TLS (read in the files each
container receives), no verification switched off anywhere, no plaintext URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.docker_props import env, files, number, service
from vos_policies.rule import (
    CONTAINER,
    LOCALLY_SIGNED_CERT,
    PRIVATE_KEY,
    SELF_SIGNED_CERT,
    UNKNOWN,
    Rule,
    Subject,
    elements,
    list_setting,
)

HIGH, CRITICAL, MEDIUM = Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM


def _key_strength(k: Subject) -> Iterator[str]:
    algorithm = k.get("algorithm")
    if algorithm == "RSA":
        bits = number(k.get("rsaBits")) or 2048  # the provider's default
        if bits < k.config["minRsaBits"]:
            yield f"RSA key of {int(bits)} bits; at least {k.config['minRsaBits']} required"
    elif algorithm == "ECDSA":
        if k.get("ecdsaCurve", "P224") not in ("P256", "P384", "P521"):
            yield f"ECDSA curve {k.get('ecdsaCurve', 'P224')} is weaker than P256"
    elif algorithm != "ED25519":
        yield f"key algorithm {algorithm!r} is not RSA, ECDSA or ED25519"


def _validity(cert: Subject) -> Iterator[str]:
    limit = cert.config["maxCaHours" if cert.type == SELF_SIGNED_CERT else "maxLeafHours"]
    hours, early = number(cert.get("validityPeriodHours")), number(cert.get("earlyRenewalHours"))
    if hours is None or hours > limit:
        yield f"valid for {hours} hours; at most {limit}"
    if not early or (hours is not None and early >= hours):
        yield f"earlyRenewalHours {early} must be set and below the validity ({hours})"


def _usages(cert: Subject) -> Iterator[str]:
    uses = set(elements(cert.get("allowedUses")))
    if cert.type == SELF_SIGNED_CERT:
        if cert.get("isCaCertificate") is not True:
            yield "a self-signed certificate that is not a CA: issue leaves from the CA"
        elif "cert_signing" not in uses or uses & {"server_auth", "client_auth"}:
            yield f"a CA certificate signs certificates and serves nothing (uses {sorted(uses)})"
        return
    if not uses & {"server_auth", "client_auth"}:
        yield f"a leaf certificate without server_auth or client_auth (uses {sorted(uses)})"
    if uses & {"cert_signing", "crl_signing"}:
        yield "a leaf certificate may not sign certificates"


def _file(c: Subject, name: str) -> list[str]:
    """Contents of the uploads whose path ends with `name` (UNKNOWN where not known)."""
    return [f.content for f in files(c) if isinstance(f.path, str) and f.path.endswith(name)]


def _carried(c: Subject, services: str, name: str) -> list[str] | None:
    """The `name` files of a container that carries this service's files, or None when the
    rule does not apply. Files hidden as a whole (a preview's "[secret]") cannot be read:
    then the rule cannot pass."""
    uploads = files(c)
    if not uploads:
        return None  # not a container that receives files
    found = _file(c, name)
    if not found and service(c) not in set(c.config[services]):
        return None
    if not found and any(f.path is UNKNOWN for f in uploads):
        return [UNKNOWN]
    return found


def _postgres(c: Subject) -> Iterator[str]:
    configs, rules = _carried(c, "postgresServices", "/postgresql.conf"), _file(c, "/pg_hba.conf")
    if configs is None:
        return
    if not configs:
        yield "the PostgreSQL files carry no postgresql.conf"
    if configs == [UNKNOWN]:
        rules = [UNKNOWN]
    elif not rules:
        yield "the PostgreSQL files carry no pg_hba.conf"
    for conf in configs:
        if conf is UNKNOWN:
            yield "postgresql.conf is not known (hidden or not computed): TLS cannot be verified"
            continue
        settings = dict(re.findall(r"^\s*(\w+)\s*=\s*'?([^'\n#]*)'?", conf, flags=re.M))
        if settings.get("ssl", "off").strip().lower() not in ("on", "true", "1"):
            yield "postgresql.conf: ssl is not on"
        if settings.get("ssl_min_protocol_version", "").strip() not in ("TLSv1.2", "TLSv1.3"):
            yield "postgresql.conf: ssl_min_protocol_version is below TLSv1.2"
    for hba in rules:
        if hba is UNKNOWN:
            yield "pg_hba.conf is not known (hidden or not computed): TLS cannot be verified"
            continue
        lines = [line.split() for line in hba.splitlines() if line.strip() and line[0] != "#"]
        for fields in lines:
            kind, method = fields[0], fields[-1]
            if kind in ("host", "hostnogssenc", "hostnossl") and method != "reject":
                yield f"pg_hba.conf: `{' '.join(fields)}` accepts a connection without TLS"
            if method in ("trust", "password", "md5", "ident"):
                yield f"pg_hba.conf: `{' '.join(fields)}` uses a weak method ({method})"
        if not any(f[0] == "hostnossl" and f[-1] == "reject" for f in lines):
            yield "pg_hba.conf: no `hostnossl ... reject` line"


def _rabbitmq(c: Subject) -> Iterator[str]:
    configs = _carried(c, "rabbitmqServices", "/rabbitmq.conf")
    if configs is None:
        return
    for conf in [f.content for f in files(c) if str(f.path).endswith(".conf")]:
        if not isinstance(conf, str):
            continue
        if re.search(r"^\s*(management|prometheus)\.tcp\.", conf, flags=re.M):
            yield "a plain HTTP management or metrics listener is configured"
        if re.search(r"^\s*listeners\.tcp\.\w+\s*=", conf, flags=re.M):
            yield "a plain AMQP listener (listeners.tcp.*) is configured"
    if not configs:
        yield "the RabbitMQ files carry no rabbitmq.conf"
    for conf in configs:
        if conf is UNKNOWN or not re.search(r"^\s*listeners\.tcp\s*=\s*none\s*$", conf, re.M):
            yield "rabbitmq.conf does not say listeners.tcp = none (or cannot be read)"


def _conf_values(conf: str) -> dict[str, str]:
    """rabbitmq.conf's `key = value` lines (sysctl format; a later line wins)."""
    pairs = (line.split("=", 1) for line in conf.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def _rabbitmq_metrics(c: Subject) -> Iterator[str]:
    configs = _carried(c, "rabbitmqServices", "/rabbitmq.conf")
    if not configs:
        return
    plugins = [p for p in _file(c, "/enabled_plugins") if p is not UNKNOWN]
    prometheus_enabled = any("rabbitmq_prometheus" in p for p in plugins)
    for conf in configs:
        if conf is UNKNOWN:
            yield "rabbitmq.conf cannot be read: its metrics listener cannot be verified"
            continue
        values = _conf_values(conf)
        if "prometheus.ssl.port" not in values:
            if prometheus_enabled:
                # The plugin's default listener is plain HTTP on 15692.
                yield "rabbitmq_prometheus is enabled without prometheus.ssl.port"
            continue
        if values.get("prometheus.ssl.verify") != "verify_peer" or (
            values.get("prometheus.ssl.fail_if_no_peer_cert") != "true"
        ):
            yield "the metrics listener does not require a client certificate"
        trusted = values.get("prometheus.ssl.cacertfile")
        platform = {
            path
            for k in ("ssl_options", "management.ssl")
            if (path := values.get(f"{k}.cacertfile")) is not None
        }
        # Another path with the same certificate in it trusts the same CA.
        known = {x for x in _file(c, trusted) if isinstance(x, str)} if trusted else set()
        same_content = any(
            known & {x for x in _file(c, path) if isinstance(x, str)} for path in platform
        )
        if trusted is None or trusted in platform or same_content:
            yield (
                "the metrics listener trusts the CA of every service identity "
                f"({trusted or 'no cacertfile'}), so any service can read the metrics"
            )


def _https_scheme(c: Subject) -> Iterator[str]:
    command = elements(c.get("command"))
    for index, word in enumerate(command):
        if word == "--scheme":
            schemes = command[index + 1] if index + 1 < len(command) else UNKNOWN
            if schemes is UNKNOWN or set(str(schemes).split(",")) != {"https"}:
                yield f"the server is started with --scheme {schemes}: https only"


INSECURE_ENV = {
    "NODE_TLS_REJECT_UNAUTHORIZED": {"0"},
    "PYTHONHTTPSVERIFY": {"0"},
    "GIT_SSL_NO_VERIFY": None,  # any value
    "PIP_TRUSTED_HOST": None,
    "CURL_INSECURE": None,
    "NPM_CONFIG_STRICT_SSL": {"false", "0"},
    "OTEL_EXPORTER_OTLP_INSECURE": {"true", "1"},
    "OTEL_EXPORTER_OTLP_TRACES_INSECURE": {"true", "1"},
    "OTEL_EXPORTER_OTLP_METRICS_INSECURE": {"true", "1"},
    "OTEL_EXPORTER_OTLP_LOGS_INSECURE": {"true", "1"},
}
# Client-side settings only: a server listener's `verify = verify_none` (RabbitMQ) is about
# whether clients must show a certificate, not about verifying anyone's.
NO_VERIFY = re.compile(
    r"sslmode=(disable|allow|prefer|require)\b|insecure_skip_verify:\s*true|tls_skip_verify",
    re.IGNORECASE,
)


def _verification(c: Subject) -> Iterator[str]:
    for key, value in env(c).items():
        bad = INSECURE_ENV.get(key.upper(), ())
        if bad is None or (bad and str(value).lower() in bad):
            yield f"environment {key}={value} switches TLS verification off"
        if key.upper().endswith(("_INSECURE_SKIP_VERIFY", "_TLS_SKIP_VERIFY")) and str(
            value
        ).lower() in ("true", "1"):
            yield f"environment {key}={value} switches TLS verification off"
        if isinstance(value, str) and NO_VERIFY.search(value):
            yield f"environment {key} disables TLS verification"
    for file in files(c):
        match = NO_VERIFY.search(file.content) if isinstance(file.content, str) else None
        if match:
            yield f"{file.path}: `{match.group(0)}` disables TLS verification"


PLAINTEXT_URL = re.compile(r"\b(http|amqp|ws|redis|mongodb|ldap|grpc)://", re.IGNORECASE)


def _plaintext_urls(c: Subject) -> Iterator[str]:
    for key, value in env(c).items():
        if isinstance(value, str) and PLAINTEXT_URL.search(value):
            yield f"environment {key} names a plaintext endpoint ({value})"


def _private_keys(c: Subject) -> Iterator[str]:
    for file in files(c):
        if file.path is UNKNOWN:
            yield "an upload is hidden as a whole: its modes cannot be verified"
            continue
        # A content not computed yet (preview) is checked at update, when it is known.
        if isinstance(file.content, str) and "PRIVATE KEY" in file.content:
            if file.mode not in ("0400", "0600"):
                yield f"{file.path}: a private key with mode {file.mode} (0400 or 0600 required)"
            # The uid is what owns (Weaviate runs as root in the backup service's group).
            uid = str(c.get("user", "")).split(":")[0]
            if file.owner in (None, "", "0") and uid not in ("", "0"):
                yield f"{file.path}: a private key not owned by the container's user"
    for key, value in env(c).items():
        if isinstance(value, str) and "PRIVATE KEY" in value:
            yield f"environment {key} holds a private key"


RULES = [
    Rule("tls-key-strength", "tls", "Private keys are RSA of at least 3072 bits, ECDSA on "
         "P-256 or stronger, or Ed25519.", "Set tls.keyAlgorithm to ECDSA-P256, RSA-3072 or "
         "RSA-4096.", HIGH, _key_strength, (PRIVATE_KEY,),
         {"minRsaBits": {"type": "integer", "description": "smallest RSA key", "default": 3072}}),
    Rule("tls-certificate-validity", "tls", "Certificates have a bounded validity and renew "
         "early.", "Lower tls.validityHours / tls.caValidityHours; set the early-renewal "
         "windows below them.", MEDIUM, _validity, (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT),
         {"maxLeafHours": {"type": "integer", "description": "longest leaf validity",
                           "default": 8760},
          "maxCaHours": {"type": "integer", "description": "longest CA validity",
                         "default": 87600}}),
    Rule("tls-certificate-usages", "tls", "Only the CA signs certificates; leaves authenticate "
         "servers or clients.", "Issue leaves from the platform CA with server_auth or "
         "client_auth.", HIGH, _usages, (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT)),
    Rule("postgres-tls-only", "tls", "PostgreSQL has ssl on, TLS 1.2 or later, and pg_hba.conf "
         "rejects every connection without TLS.", "Render postgresql.conf with ssl = on and "
         "pg_hba.conf with hostssl lines and `hostnossl all all all reject`.", CRITICAL,
         _postgres, (CONTAINER,),
         {"postgresServices": list_setting("services that are PostgreSQL", ["postgres"])}),
    Rule("rabbitmq-tls-only", "tls", "RabbitMQ has no plain AMQP, HTTP management or metrics "
         "listener.", "Set listeners.tcp = none and use listeners.ssl, management.ssl, "
         "prometheus.ssl.", CRITICAL, _rabbitmq, (CONTAINER,),
         {"rabbitmqServices": list_setting("services that are RabbitMQ", ["rabbitmq"])}),
    Rule("rabbitmq-metrics-scrape-only", "tls", "RabbitMQ's metrics listener requires a "
         "client certificate of a CA other than the one that issues service identities.",
         "Set prometheus.ssl.verify = verify_peer, fail_if_no_peer_cert = true and "
         "prometheus.ssl.cacertfile to the metrics CA (components/pki).", HIGH,
         _rabbitmq_metrics, (CONTAINER,),
         {"rabbitmqServices": list_setting("services that are RabbitMQ", ["rabbitmq"])}),
    Rule("https-scheme-only", "tls", "Servers started with --scheme serve https only.",
         "Start the server with `--scheme https` and its TLS flags.", CRITICAL, _https_scheme,
         (CONTAINER,)),
    Rule("no-tls-verification-disabled", "tls", "No container switches TLS verification off "
         "(environment or configuration files).", "Remove the setting; give the client the "
         "platform CA instead.", CRITICAL, _verification, (CONTAINER,)),
    Rule("no-plaintext-urls", "tls", "No container is pointed at a plaintext endpoint "
         "(http://, amqp://, ...).", "Use the https://, amqps://, ... endpoint of the service "
         "with the platform CA.", HIGH, _plaintext_urls, (CONTAINER,)),
    Rule("private-keys-protected", "tls", "Private keys reach containers only as files owned "
         "by the service's user with mode 0400 or 0600.", "Upload the key as a secret file "
         "with permissions 0400/0600 and the image's uid as owner.", HIGH, _private_keys,
         (CONTAINER,)),
]  # fmt: skip
