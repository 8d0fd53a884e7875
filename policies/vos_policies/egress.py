"""Egress: the apps' way out is the egress proxy alone, locked down (client certificates,
CONNECT to names only, nothing else), and every app uses it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.docker_props import env, files, labels
from vos_policies.rule import CONTAINER, UNKNOWN, Rule, StackSubject, Subject

EGRESS_PROXY_ROLE = "egress-proxy"
"""`vos.role` of the egress proxy (components/docker/spec.py)."""
INTERCEPTION = ("ssl_bump", "sslcrtd_program", "sslproxy_cert_error")


def _address(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return False
    return True


def _statements(content: str) -> list[list[str]]:
    lines = (line.split("#", 1)[0].split() for line in content.splitlines())
    return [words for words in lines if words]


def _conf_problems(content: str, allow_wildcards: bool) -> Iterator[str]:
    statements = _statements(content)
    for words in statements:
        if words[0] == "http_port":
            yield "squid.conf has a plain-HTTP listener (http_port): TLS only (https_port)"
        elif words[0] == "https_port" and not any(w.startswith("clientca=") for w in words):
            yield "squid.conf has a TLS listener that asks no client certificate (clientca=)"
        elif words[0] in INTERCEPTION:
            yield f"squid.conf intercepts TLS ({words[0]}): tunnels carry the apps' own TLS"
        elif words[0] == "acl" and len(words) > 2 and words[2] == "dst":
            yield f"acl {words[1]} allows by address (dst): allow-lists are host names"
        elif words[0] == "acl" and len(words) > 2 and words[2] == "dstdomain":
            flags = [w for w in words[3:] if w.startswith("-")]
            names = [w for w in words[3:] if not w.startswith("-")]
            if "-n" not in flags:
                yield f"acl {words[1]} matches names after a reverse DNS lookup (add -n)"
            for name in names:
                if _address(name):
                    yield f"acl {words[1]} allows the address {name}: host names only"
                elif name.startswith(".") and not allow_wildcards:
                    yield f"acl {words[1]} allows every subdomain of {name[1:]}: exact names only"
    access = [words for words in statements if words[0] == "http_access"]
    if not access or access[-1] != ["http_access", "deny", "all"]:
        yield "squid.conf does not end its rules with `http_access deny all`"


def _locked_down(c: Subject) -> Iterator[str]:
    for file in files(c):
        if isinstance(file.path, str) and file.path.endswith("/squid.conf"):
            if file.content is UNKNOWN or not isinstance(file.content, str):
                yield "squid.conf is not known yet"
                continue
            yield from _conf_problems(file.content, bool(c.config["allowWildcards"]))


def _apps_use_the_proxy(stack: StackSubject) -> Iterator[tuple[str, str]]:
    """With an egress proxy in the stack, every app (a container of the app contract, which
    sets VOS_SERVICE_NAME) sends its outbound calls to it."""
    containers = [
        (c, Subject(c.resource_type, c.name, c.urn, c.props, {})) for c in stack.of_type(CONTAINER)
    ]
    if not any(labels(s).get("vos.role") == EGRESS_PROXY_ROLE for _, s in containers):
        return
    for container, subject in containers:
        variables = env(subject)
        if "VOS_SERVICE_NAME" not in variables:
            continue
        proxy = variables.get("HTTPS_PROXY")
        if not (isinstance(proxy, str) and proxy.startswith("https://")):
            yield (
                container.urn,
                f"{container.name} is an app without HTTPS_PROXY=https://<egress proxy>: its "
                "outbound calls would bypass the allow-list (and find no route)",
            )


RULES = [
    Rule("egress-proxy-locked-down", "egress", "The egress proxy takes TLS with client "
         "certificates only, tunnels to allow-listed host names only (no addresses, no "
         "reverse DNS, no interception, no wildcard unless allowed) and refuses the rest.",
         "Render squid.conf with components/egress_proxy/files.py; set exact host names in "
         "the apps' `egress` lists.", Severity.HIGH, _locked_down, (CONTAINER,),
         {"allowWildcards": {"type": "boolean", "default": False,
                             "description": "allow `*.domain` destinations (dev only)"}}),
    Rule("apps-use-egress-proxy", "egress", "Every app sends its outbound calls through the "
         "stack's egress proxy.", "Give the app HTTPS_PROXY (components/app/inputs.py "
         "egress_environment).", Severity.HIGH, _apps_use_the_proxy),
]  # fmt: skip
