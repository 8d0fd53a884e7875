"""Outside destinations an app may reach through the egress proxy, as a stack names them.

An entry is a host name with an optional port: `api.openai.com` (port 443) or
`weather.example.net:8443`; `*.example.com` allows the domain's subdomains (dev only,
stacks/rules/egress.py). Never an IP address or a network: a name is what the proxy
matches without resolving it (Squid's `dstdomain -n`), so an allow-list cannot be widened
by DNS, and an address literal says nothing about who answers there.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
OUTSIDE_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
"""A DNS name of at least two labels: a single label is a name inside the stack."""
DEFAULT_PORT = 443


@dataclass(frozen=True)
class Destination:
    host: str
    """The name without `*.`; with `wildcard`, the domain whose subdomains are allowed."""
    port: int
    wildcard: bool = False

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.wildcard else self.host
        return host if self.port == DEFAULT_PORT else f"{host}:{self.port}"


def _address(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return False
    return True


def parse_destination(text: str) -> Destination:
    """`host`, `host:port` or `*.domain[:port]`; a ValueError says what is wrong and how
    to write it."""
    example = "write a host name such as api.openai.com, or api.openai.com:8443 for a port"
    if "://" in text or ("/" in text and not _address(text)):
        raise ValueError(f"'{text}' is a URL or a path, not a destination: {example}")
    if _address(text) or _address(text.rpartition(":")[0]):
        raise ValueError(
            f"'{text}' is an IP address or a network; the proxy allows names only: {example}"
        )
    host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"'{text}' has no valid port (1-65535): {example}")
        port = int(port_text)
    wildcard = host.startswith("*.")
    name = host.removeprefix("*.")
    if not OUTSIDE_NAME.match(name):
        raise ValueError(
            f"'{text}' is not an outside host name (lowercase DNS name of two labels or "
            f"more{', after *.' if wildcard else ''}): {example}"
        )
    if wildcard and name.count(".") < 1:
        raise ValueError(f"'{text}' would allow a whole top-level domain: {example}")
    return Destination(name, port, wildcard)
