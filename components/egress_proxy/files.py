"""The egress proxy's squid.conf, pure: CONNECT to each app's own allow-list, nothing else.

- One listener, TLS only (`https_port`), TLS 1.2 or newer with forward-secret AEAD suites,
  demanding a client certificate of the platform CA (`clientca=`): an app is identified by
  the client certificate it already has (its CN is its DNS name), no password.
- An app may CONNECT only to the hosts and ports of its own allow-list, matched by name
  without DNS lookups (`dstdomain -n`: Squid otherwise reverse-resolves an IP-literal
  target and matches the name it finds); IP literals are refused outright, every other
  method (plain-HTTP proxying) too. No TLS interception: the tunnel carries the app's own
  end-to-end TLS.
- Every request logged to stdout (the container's log, so Loki) as logfmt with the app's
  certificate subject, refusals and failed handshakes included; nothing cached, no version
  string.
Verified on Debian's squid-openssl 5.7 (tests/integration/test_egress_proxy.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from components.docker.spec import CONFIG_DIR, TLS_DIR
from stacks.egress import Destination

CONF = f"{CONFIG_DIR}/squid.conf"
TMP = "/tmp/squid"  # noqa: S108 (a private tmpfs inside the container)
PID = f"{TMP}/squid.pid"
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2 suites: ECDHE with AEAD only (TLS 1.3's are always AEAD)."""
LOG_FORMAT = (
    'time=%ts.%03tu client=%>a identity="%ssl::>cert_subject" method=%rm target=%ru '
    "status=%>Hs result=%Ss"
)
"""logfmt: `identity` is the app's certificate subject (`/CN=<app>`), `-` without one;
`result` is Squid's (TCP_TUNNEL allowed, TCP_DENIED refused)."""
REFUSED = "TCP_DENIED"


@dataclass(frozen=True)
class AppEgress:
    """One app's identity (its client certificate's CN) and its destinations."""

    common_name: str
    destinations: Sequence[Destination]


def _acl_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def squid_conf(apps: Sequence[AppEgress], port: int) -> str:
    lines = [
        "# vos egress proxy: CONNECT from an app's client certificate to its allow-list only",
        f"https_port {port} tls-cert={TLS_DIR}/server.crt tls-key={TLS_DIR}/server.key "
        f"clientca={TLS_DIR}/ca.crt tls-min-version=1.2 cipher={CIPHERS} options=NO_TICKET",
        f"pid_filename {PID}",
        f"coredump_dir {TMP}",
        "cache deny all",
        "cache_mem 0 MB",
        "pinger_enable off",
        "shutdown_lifetime 1 seconds",
        "forwarded_for delete",
        "httpd_suppress_version_string on",
        f"logformat vos {LOG_FORMAT}",
        "access_log stdio:/dev/stdout vos",
        "cache_log stdio:/dev/stderr",
        "acl CONNECT method CONNECT",
        # Any IPv4 or IPv6 literal (with or without brackets).
        r"acl ip_literal dstdom_regex -n ^[0-9.]+$ ^\[?[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?$",
        "http_access deny !CONNECT",
        "http_access deny ip_literal",
    ]
    ports = sorted({d.port for app in apps for d in app.destinations})
    lines += [f"acl port_{number} port {number}" for number in ports]
    for app in (a for a in apps if a.destinations):
        who = f"app_{_acl_name(app.common_name)}"
        lines.append(f"acl {who} user_cert CN {app.common_name}")
        for number in sorted({d.port for d in app.destinations}):
            names = sorted(
                f".{d.host}" if d.wildcard else d.host for d in app.destinations if d.port == number
            )
            where = f"{who}_to_{number}"
            lines.append(f"acl {where} dstdomain -n {' '.join(names)}")
            lines.append(f"http_access allow {who} {where} port_{number}")
    lines.append("http_access deny all")
    return "\n".join(lines) + "\n"
