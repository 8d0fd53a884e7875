"""Rules only the Swarm target needs (components/swarm/): overlay networks encrypted and closed
to containers run by hand, updates that roll back, nothing on Swarm's routing mesh, stateful
services pinned to the nodes that hold their data, the gateway replicated, replicas kept
apart."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from vos_policies.docker_props import labels
from vos_policies.rule import NETWORK, SERVICE, UNKNOWN, Rule, Subject, elements, get

DATA_CONSTRAINT = "node.labels.data==true"


def _overlay(n: Subject) -> bool:
    return n.get("driver") in ("overlay", UNKNOWN)


def _encrypted(n: Subject) -> Iterator[str]:
    if not _overlay(n):
        return
    options = n.get("options", {})
    if options is UNKNOWN or get(options, "encrypted") is None:
        yield "an overlay network without `encrypted`: its traffic between nodes is plaintext"


def _not_attachable(n: Subject) -> Iterator[str]:
    if _overlay(n) and n.get("attachable", False) is not False:
        yield "an attachable overlay: any container run by hand on a node can join it"


def _service_name(s: Subject) -> object:
    return labels(s).get("vos.service", s.name)


def _rollback(s: Subject) -> Iterator[str]:
    update = s.get("updateConfig", {})
    action = get(update, "failureAction")
    if action != "rollback":
        yield f"update_config.failure_action is {action!r}: a failing update stays half-rolled"


def _publishing(s: Subject) -> Iterator[str]:
    ports = elements(get(s.get("endpointSpec", {}), "ports", []))
    edge = set(s.config["edgeServices"])
    for port in ports:
        mode = get(port, "publishMode", "ingress")
        if mode != "host":
            yield f"port {get(port, 'publishedPort')} is published on the routing mesh ({mode!r})"
        if _service_name(s) not in edge:
            yield f"{_service_name(s)} publishes a port: only {sorted(edge)} may"


def _stateful(s: Subject) -> Iterator[str]:
    spec = get(s.get("taskSpec", {}), "containerSpec", {})
    mounts = elements(get(spec, "mounts", []))
    if not any(get(m, "type") in ("volume", UNKNOWN) for m in mounts):
        return
    replicas = get(get(s.get("mode", {}), "replicated", {}), "replicas")
    if replicas != 1:
        yield f"a service with a data volume runs {replicas!r} tasks: two would share no data"
    placement = get(s.get("taskSpec", {}), "placement", {})
    if DATA_CONSTRAINT not in elements(get(placement, "constraints", [])):
        yield f"a service with a data volume is not constrained to {DATA_CONSTRAINT}"


def _replicas(s: Subject) -> Iterator[str]:
    if _service_name(s) not in set(s.config["replicatedServices"]):
        return
    replicas = get(get(s.get("mode", {}), "replicated", {}), "replicas")
    least = s.config["minReplicas"]
    if replicas is UNKNOWN or not isinstance(replicas, int | float) or replicas < least:
        yield f"{_service_name(s)} runs {replicas!r} tasks; at least {least}"


def _apart(s: Subject) -> Iterator[str]:
    replicas = get(get(s.get("mode", {}), "replicated", {}), "replicas")
    if not isinstance(replicas, int | float) or replicas < 2:
        return  # global, one task, or not known yet
    most = get(get(s.get("taskSpec", {}), "placement", {}), "maxReplicas", 0)
    if most is UNKNOWN:
        return
    if not isinstance(most, int | float) or not 1 <= most < replicas:
        yield (
            f"{_service_name(s)} runs {replicas:g} tasks with placement.max_replicas "
            f"{most!r}: one node may run them all, and losing it loses the service"
        )


def _rule(name: str, description: str, remediation: str, severity: Severity, check: object,
          type_: str, **config: object) -> Rule:  # fmt: skip
    return Rule(name, "swarm", description, remediation, severity, check,  # type: ignore[arg-type]
                (type_,), config)  # fmt: skip


RULES = [
    _rule("swarm-overlays-encrypted", "Overlay networks encrypt their traffic between nodes.",
          "Create overlays with encrypted=True (components/swarm/networks.py); hosts need "
          "IPsec ESP.",
          Severity.HIGH, _encrypted, NETWORK),
    _rule("swarm-overlays-not-attachable", "Overlay networks take only the stack's services.",
          "Create overlays with attachable=False.", Severity.HIGH, _not_attachable, NETWORK),
    _rule("swarm-rollback-on-failure", "A failing update of a Swarm service rolls back.",
          "Set update_config.failure_action='rollback' (components/swarm/service.py).",
          Severity.MEDIUM, _rollback, SERVICE),
    _rule("swarm-host-mode-edge-only", "Only the edge publishes ports, in host mode, never "
          "on the routing mesh.", "Publish the edge with publish_mode='host' and nothing "
          "else.", Severity.HIGH, _publishing, SERVICE,
          edgeServices={"type": "array", "items": {"type": "string"}, "default": ["edge"],
                        "description": "services that may publish a port"}),
    _rule("swarm-stateful-pinned", "A service with a data volume runs one task, on the nodes "
          "labelled for data.", "Give it replicas=1 and the constraint "
          f"{DATA_CONSTRAINT} (label the data hosts in the host layer's inventory).",
          Severity.HIGH, _stateful, SERVICE),
    _rule("swarm-gateway-replicated", "The gateway runs on more than one task.",
          "Place the gateway with replicas=2 or more (components/swarm/placement.py).",
          Severity.MEDIUM, _replicas, SERVICE,
          replicatedServices={"type": "array", "items": {"type": "string"},
                              "default": ["api-gateway"],
                              "description": "services that must run replicated"},
          minReplicas={"type": "integer", "default": 2,
                       "description": "the fewest tasks each of them runs"}),
    _rule("swarm-replicas-apart", "A node runs fewer than all the tasks of a replicated "
          "service.", "Give the stack swarm.appNodes (components/swarm/placement.py, spread "
          "sets placement.max_replicas from it) and run that many nodes labelled apps.",
          Severity.MEDIUM, _apart, SERVICE),
]  # fmt: skip
