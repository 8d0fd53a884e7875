"""Observability: every long-running service is scraped by the stack's Prometheus."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.rule import CONTAINER, Rule, StackSubject, elements, get


def _long_running(props: object) -> bool:
    return get(props, "start", True) is not False and get(props, "mustRun", True) is not False


def _scraped(stack: StackSubject) -> Iterator[tuple[str, str]]:
    """A service counts as scraped when its network name appears in a prometheus.yml that
    some container of the stack receives."""
    configs = []
    for container in stack.of_type(CONTAINER):
        for upload in elements(get(container.props, "uploads", [])):
            path, content = get(upload, "file"), get(upload, "content")
            if (
                isinstance(path, str)
                and path.endswith("prometheus.yml")
                and isinstance(content, str)
            ):
                configs.append(content)
    for container in stack.of_type(CONTAINER):
        props = container.props
        host = get(props, "hostname")
        if not _long_running(props) or not isinstance(host, str):
            continue
        if not any(f"{host}:" in config for config in configs):
            yield container.urn, f"{host} is scraped by no Prometheus of the stack"


RULES = [
    Rule("every-service-scraped", "observability", "Every long-running service is a scrape "
         "target of the stack's Prometheus.", "Enable Prometheus and list the service's "
         "metrics endpoint in its scrape configuration.", Severity.MEDIUM, _scraped),
]  # fmt: skip
