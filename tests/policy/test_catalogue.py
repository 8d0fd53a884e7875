"""A catalogue of insecure variants of the real stacks: each mutates one resource (or
removes one) of the evaluated dev or prod stack, and the named policy must reject it at
mandatory level, through the pack over gRPC with the environment's own policy config."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from vos_policies import RULES

from tests.helpers import swarm_overrides
from tools.offline.mocks import unwrap
from tools.offline.runner import evaluate
from tools.offline.stack_files import read_stack_config, with_overrides
from tools.policy.analyzer import Analyzer
from tools.policy.config import config_file, load
from tools.policy.resources import PolicyInput, from_evaluation

Props = dict[str, Any]


@dataclass(frozen=True)
class Variant:
    id: str
    resource: str
    """Resource name in the stack (e.g. postgres-server), or '' for a stack-wide change."""
    mutate: Callable[[Props], Props | None]
    """Returns the new inputs, or None to remove the resource from the stack."""
    policy: str
    stack: str = "dev"


def setting(**changes: Any) -> Callable[[Props], Props]:
    def apply(props: Props) -> Props:
        return props | changes

    return apply


def env(*entries: str, drop: str = "") -> Callable[[Props], Props]:
    def apply(props: Props) -> Props:
        kept = [e for e in props.get("envs", []) if not (drop and e.startswith(drop + "="))]
        return props | {"envs": kept + list(entries)}

    return apply


def file(suffix: str, edit: Callable[[str], str], **fields: str) -> Callable[[Props], Props]:
    def apply(props: Props) -> Props:
        uploads = copy.deepcopy(props["uploads"])
        for upload in uploads:
            if upload["file"].endswith(suffix):
                upload["content"] = edit(upload["content"])
                upload.update(fields)
        return props | {"uploads": uploads}

    return apply


def copy_file(source: str, target: str) -> Callable[[Props], Props]:
    """The upload ending in `target` gets the content of the one ending in `source`."""

    def apply(props: Props) -> Props:
        uploads = copy.deepcopy(props["uploads"])
        (content,) = [u["content"] for u in uploads if u["file"].endswith(source)]
        for upload in uploads:
            if upload["file"].endswith(target):
                upload["content"] = content
        return props | {"uploads": uploads}

    return apply


def volume(host: str, target: str) -> Callable[[Props], Props]:
    return lambda p: p | {"volumes": [*p["volumes"], {"hostPath": host, "containerPath": target}]}


def add_guest(text: str) -> str:
    document = json.loads(text)
    document["users"].append({"name": "guest", "password_hash": "x", "tags": ["administrator"]})
    return json.dumps(document)


def remove(_props: Props) -> None:
    return None


PG, RMQ, WV, JOB = "postgres-server", "rabbitmq-server", "weaviate-server", "postgres-roles"
PGF, RMQF, WVF = "postgres-server-files", "rabbitmq-server-files", "weaviate-server-files"
EPF = "egress-proxy-server-files"
PORT = {"internal": 8443.0, "external": 18443.0, "ip": "127.0.0.1", "protocol": "tcp"}
V = Variant
VARIANTS = [
    V("privileged", PG, setting(privileged=True), "no-privileged-containers"),
    V("host-network", PG, setting(networkMode="host"), "no-host-network"),
    V("host-pid", RMQ, setting(pidMode="host"), "no-host-pid"),
    V("host-ipc", RMQ, setting(ipcMode="host"), "no-host-ipc"),
    V("host-userns", WV, setting(usernsMode="host"), "no-host-user-namespace"),
    V("host-cgroupns", WV, setting(cgroupnsMode="host"), "no-host-cgroup-namespace"),
    V("docker-socket", PG, volume("/var/run/docker.sock", "/var/run/docker.sock"),
      "no-container-engine-socket"),
    V("containerd-socket", JOB, setting(mounts=[{"type": "bind", "target": "/c",
      "source": "/run/containerd/containerd.sock"}]), "no-container-engine-socket"),
    V("host-etc", RMQ, volume("/etc", "/host/etc"), "no-sensitive-host-paths"),
    V("host-root", WV, volume("/", "/host"), "no-sensitive-host-paths"),
    V("shared-propagation", PG, setting(mounts=[{"type": "bind", "source": "/srv/pg",
      "target": "/srv", "bindOptions": {"propagation": "rshared"}}]),
      "no-shared-mount-propagation"),
    V("no-cap-drop", PG, setting(capabilities={"drops": [], "adds": []}),
      "drop-all-capabilities"),
    V("cap-sys-admin", RMQ, setting(capabilities={"drops": ["ALL"], "adds": ["SYS_ADMIN"]}),
      "no-dangerous-capabilities"),
    V("cap-net-raw", WV, setting(capabilities={"drops": ["ALL"], "adds": ["NET_RAW"]}),
      "no-dangerous-capabilities"),
    V("no-new-privileges-off", PG, setting(securityOpts=[]), "no-new-privileges"),
    V("seccomp-unconfined", RMQ, setting(securityOpts=["no-new-privileges:true",
      "seccomp=unconfined"]), "keep-kernel-confinement"),
    V("apparmor-unconfined", WV, setting(securityOpts=["no-new-privileges:true",
      "apparmor:unconfined"]), "keep-kernel-confinement"),
    V("writable-root", PG, setting(readOnly=False), "read-only-root-filesystem"),
    V("writable-job", JOB, setting(readOnly=False), "read-only-root-filesystem"),
    V("carrier-on-network", PGF, setting(networkMode="bridge"), "files-carrier-never-runs"),
    V("carrier-with-caps", RMQF, setting(capabilities={"drops": []}),
      "files-carrier-never-runs"),
    V("root-user", PG, setting(user="0:0"), "non-root-user"),
    V("no-user", RMQ, setting(user=""), "non-root-user"),
    V("no-memory-limit", PG, setting(memory=0.0), "memory-limit"),
    V("unlimited-swap", RMQ, setting(memorySwap=-1.0), "memory-limit"),
    V("no-cpu-limit", WV, setting(cpus=None), "cpu-limit"),
    V("no-healthcheck", RMQ, setting(healthcheck=None), "healthcheck-defined"),
    V("restart-no", PG, setting(restart="no"), "restart-policy"),
    V("job-restarts", JOB, setting(restart="always"), "restart-policy"),
    V("no-log-rotation", WV, setting(logOpts={}), "log-rotation"),
    V("default-bridge", PG, setting(networksAdvanced=[], networkMode="bridge"),
      "user-defined-network"),
    V("host-device", WV, setting(devices=[{"hostPath": "/dev/kvm"}]), "no-host-devices"),
    V("publish-all", RMQ, setting(publishAllPorts=True), "no-publish-all-ports"),
    V("port-all-interfaces", WV, setting(ports=[PORT | {"ip": "0.0.0.0"}]),  # noqa: S104
      "published-ports-on-bind-address"),
    V("port-no-ip", WV, setting(ports=[{k: v for k, v in PORT.items() if k != "ip"}]),
      "published-ports-on-bind-address"),
    V("published-5432", PG, setting(ports=[PORT | {"internal": 5432.0, "external": 5432.0}]),
      "no-backend-published"),
    V("published-plaintext", WV, setting(ports=[PORT | {"internal": 2112.0}]),
      "published-ports-are-tls"),
    V("privileged-host-port", WV, setting(ports=[PORT | {"external": 443.0}]),
      "no-privileged-host-ports"),
    V("backend-not-internal", "networks-backend", setting(internal=False),
      "backends-on-isolated-networks"),
    V("backend-host-address", "networks-backend", setting(options={}),
      "backends-on-isolated-networks"),
    V("sidecar-bridges-backend", "api-gateway-vault-agent", setting(networksAdvanced=[
        {"name": "vos-dev-vault", "aliases": ["x"]},
        {"name": "vos-dev-backend", "aliases": ["x"]}]), "backends-on-isolated-networks"),
    V("proxy-two-ways-out", "egress-proxy-server", setting(networksAdvanced=[
        {"name": "vos-dev-backend", "aliases": ["egress-proxy"]},
        {"name": "vos-dev-egress", "aliases": ["egress-proxy"]},
        {"name": "vos-dev-vault", "aliases": ["egress-proxy"]}]),
      "backends-on-isolated-networks"),
    V("app-on-egress-network", "weather-agent-app", setting(networksAdvanced=[
        {"name": "vos-dev-backend", "aliases": ["weather-agent"]},
        {"name": "vos-dev-egress", "aliases": ["weather-agent"]}]),
      "backends-on-isolated-networks"),
    V("proxy-plain-listener", EPF, file("squid.conf", lambda t: t + "http_port 3128\n"),
      "egress-proxy-locked-down"),
    V("proxy-no-client-certificate", EPF,
      file("squid.conf", lambda t: t.replace(" clientca=/etc/vos/tls/ca.crt", "")),
      "egress-proxy-locked-down"),
    V("proxy-intercepts-tls", EPF, file("squid.conf", lambda t: t + "ssl_bump peek all\n"),
      "egress-proxy-locked-down"),
    V("proxy-allows-an-address", EPF, file("squid.conf", lambda t: t.replace(
        "dstdomain -n generativelanguage.googleapis.com\n", "dstdomain -n 142.250.74.10\n", 1)),
      "egress-proxy-locked-down"),
    V("proxy-reverse-dns", EPF,
      file("squid.conf", lambda t: t.replace("dstdomain -n", "dstdomain")),
      "egress-proxy-locked-down"),
    V("proxy-open", EPF, file("squid.conf", lambda t: t.replace("deny all\n", "allow all\n")),
      "egress-proxy-locked-down"),
    V("proxy-wildcard-in-prod", EPF, file("squid.conf", lambda t: t.replace(
        "dstdomain -n generativelanguage.googleapis.com\n", "dstdomain -n .googleapis.com\n", 1)),
      "egress-proxy-locked-down", stack="prod"),
    V("app-bypasses-proxy", "weather-agent-app", env(drop="HTTPS_PROXY"), "apps-use-egress-proxy"),
    V("app-on-vault-network", "weather-agent-app", setting(networksAdvanced=[
        {"name": "vos-dev-vault", "aliases": ["weather-agent"]}]),
      "backends-on-isolated-networks"),
    V("rsa-2048", "pki-ca-key", setting(algorithm="RSA", rsaBits=2048.0, ecdsaCurve=None),
      "tls-key-strength"),
    V("ecdsa-p224", "pki-postgres-key", setting(ecdsaCurve="P224"), "tls-key-strength"),
    V("ten-year-leaf", "pki-postgres-cert", setting(validityPeriodHours=87600.0),
      "tls-certificate-validity"),
    V("leaf-signs", "pki-rabbitmq-cert", setting(allowedUses=["server_auth", "cert_signing"]),
      "tls-certificate-usages"),
    V("ssl-off", PGF, file("postgresql.conf", lambda t: t.replace("ssl = on", "ssl = off")),
      "postgres-tls-only"),
    V("tls-1.0", PGF, file("postgresql.conf", lambda t: t.replace("TLSv1.2", "TLSv1")),
      "postgres-tls-only"),
    V("hba-plaintext", PGF, file("pg_hba.conf", lambda t: "host all all all scram-sha-256\n" + t),
      "postgres-tls-only"),
    V("hba-trust", PGF, file("pg_hba.conf", lambda t: t + "hostssl all all all trust\n"),
      "postgres-tls-only"),
    V("amqp-listener", RMQF, file("rabbitmq.conf", lambda t: t.replace(
      "listeners.tcp = none", "listeners.tcp.default = 5672")), "rabbitmq-tls-only"),
    V("metrics-trust-platform-ca", RMQF, file("rabbitmq.conf", lambda t: t.replace(
      "metrics-ca.crt", "ca.crt")), "rabbitmq-metrics-scrape-only"),
    V("metrics-ca-is-the-platform-ca", RMQF, copy_file("tls/ca.crt", "tls/metrics-ca.crt"),
      "rabbitmq-metrics-scrape-only"),
    V("metrics-no-client-cert", RMQF, file("rabbitmq.conf", lambda t: t.replace(
      "prometheus.ssl.fail_if_no_peer_cert = true", "prometheus.ssl.fail_if_no_peer_cert = "
      "false")), "rabbitmq-metrics-scrape-only"),
    V("metrics-default-listener", RMQF, file("rabbitmq.conf", lambda t: "\n".join(
      line for line in t.splitlines() if not line.startswith("prometheus."))),
      "rabbitmq-metrics-scrape-only"),
    V("http-management", RMQF, file("rabbitmq.conf", lambda t: t + "management.tcp.port = "
      "15672\n"), "rabbitmq-tls-only"),
    V("weaviate-http", WV, lambda p: p | {"command": ["--scheme", "http,https"]},
      "https-scheme-only"),
    V("otlp-insecure", WV, env("OTEL_EXPORTER_OTLP_INSECURE=true"),
      "no-tls-verification-disabled"),
    V("node-no-verify", RMQ, env("NODE_TLS_REJECT_UNAUTHORIZED=0"),
      "no-tls-verification-disabled"),
    V("sslmode-require", PG, env("DATABASE_URL=postgresql://x@postgres/vos?sslmode=require"),
      "no-tls-verification-disabled"),
    V("plaintext-otlp", WV, env("OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318"),
      "no-plaintext-urls"),
    V("key-world-readable", PGF, file("server.key", lambda t: t, permissions="0644"),
      "private-keys-protected"),
    V("host-auth-trust", PG, env("POSTGRES_HOST_AUTH_METHOD=trust"), "no-default-credentials"),
    V("guest-user", RMQF, file("definitions.json", add_guest), "no-default-credentials"),
    V("guest-remote", RMQF, file("10-defaults.conf", lambda t: "loopback_users.guest = false\n"),
      "no-default-credentials"),
    V("rabbitmq-default-user", RMQ, env("RABBITMQ_DEFAULT_USER=guest"),
      "no-default-credentials"),
    V("literal-password", PG, env("POSTGRES_PASSWORD=Zq8x2mWv9LkP4nRt"),
      "no-literal-secrets-in-env"),
    V("literal-api-keys", WV, env("AUTHENTICATION_APIKEY_ALLOWED_KEYS=abc,def"),
      "no-literal-secrets-in-env"),
    V("weaviate-anonymous", WV, env("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
      drop="AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"), "weaviate-requires-auth"),
    V("weaviate-default-anonymous", WV, env(drop="AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"),
      "weaviate-requires-auth"),
    V("grafana-anonymous", RMQ, env("GF_AUTH_ANONYMOUS_ENABLED=true", "GF_SERVER_PROTOCOL="
      "https", "GF_SECURITY_COOKIE_SECURE=true", "GF_SECURITY_ADMIN_PASSWORD__FILE=/x"),
      "grafana-requires-auth"),
    V("short-password", "credentials-postgres-admin-password", setting(length=12.0),
      "generated-secrets-strong"),
    V("no-rotation-keeper", "credentials-rabbitmq-erlang-cookie", setting(keepers={}),
      "generated-secrets-strong"),
    V("secret-not-in-vault", "vault-api-gateway-jwt-secret", remove,
      "generated-secrets-in-vault"),
    V("image-latest", "postgres-server-image", setting(name="postgres:latest"),
      "image-tag-pinned"),
    V("image-untagged", "rabbitmq-server-image", setting(name="rabbitmq"), "image-tag-pinned"),
    V("prod-image-tag-only", "weaviate-server-image", setting(
      name="cr.weaviate.io/semitechnologies/weaviate:1.32.9"), "image-digest-pinned", "prod"),
    V("vault-skip-verify", "vault-postgres-admin-password", setting(insecure_skip_verify=True),
      "vault-tls-verified"),
    V("prod-purge-history", "vault-postgres-admin-password", setting(purge_on_delete=True),
      "vault-history-kept", "prod"),
    V("policy-write", "vault-weather-agent-policy", lambda p: p | {
      "policy": p["policy"].replace('["read"]', '["read", "update", "delete"]')},
      "vault-policy-least-privilege"),
    V("policy-everything", "vault-weather-agent-policy", setting(
      policy='path "secret/*" {\n  capabilities = ["read"]\n}\n'),
      "vault-policy-least-privilege"),
]  # fmt: skip


def nested(path: str, value: Any) -> Callable[[Props], Props]:
    """One value deep inside the inputs (`taskSpec.containerSpec.readOnly`) replaced."""

    def apply(props: Props) -> Props:
        changed = copy.deepcopy(props)
        *parents, last = path.split(".")
        node = changed
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
        return changed

    return apply


SWARM = "prod-swarm"
"""The prod stack rendered for a Swarm (target: swarm, tests/helpers.py swarm_overrides)."""
GW, PGS, JOBS = "api-gateway-app", "postgres-server", "postgres-roles"
INGRESS = [
    {"targetPort": 9090.0, "publishedPort": 9090.0, "publishMode": "ingress", "protocol": "tcp"}
]
VARIANTS += [
    V("swarm-one-gateway", GW, nested("mode", {"replicated": {"replicas": 1.0}}),
      "swarm-gateway-replicated", SWARM),
    V("swarm-stackable-gateway", GW, nested("taskSpec.placement.maxReplicas", 0.0),
      "swarm-replicas-apart", SWARM),
    V("swarm-clear-overlay", "networks-backend", setting(options={}),
      "swarm-overlays-encrypted", SWARM),
    V("swarm-attachable-overlay", "networks-edge", setting(attachable=True),
      "swarm-overlays-not-attachable", SWARM),
    V("swarm-update-continues", GW, nested("updateConfig.failureAction", "continue"),
      "swarm-rollback-on-failure", SWARM),
    V("swarm-mesh-published", "prometheus-server", nested("endpointSpec.ports", INGRESS),
      "swarm-host-mode-edge-only", SWARM),
    V("swarm-data-anywhere", PGS, nested("taskSpec.placement.constraints", []),
      "swarm-stateful-pinned", SWARM),
    V("swarm-writable-root", PGS, nested("taskSpec.containerSpec.readOnly", False),
      "read-only-root-filesystem", SWARM),
    V("swarm-caps-kept", GW, nested("taskSpec.containerSpec.capDrops", []),
      "drop-all-capabilities", SWARM),
    V("swarm-root-service", PGS, nested("taskSpec.containerSpec.user", "0:0"),
      "non-root-user", SWARM),
    V("swarm-job-as-root", JOBS, nested("task_template.ContainerSpec.User", "0:0"),
      "non-root-user", SWARM),
]  # fmt: skip


@dataclass
class Stack:
    resources: list[PolicyInput]
    pack: Analyzer


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, Stack]]:
    found = {}
    try:
        for name in ("dev", "prod"):
            pack = Analyzer()
            settings = load(config_file(name), [r.name for r in RULES])
            pack.configure(settings.levels, settings.properties)
            found[name] = Stack(from_evaluation(evaluate(name)), pack)
        # On a Swarm the engines refuse new privileges (the host layer's daemon.json), which
        # the pack's config says (tests/program/test_swarm_target.py).
        pack = Analyzer()
        settings = load(config_file("prod"), [r.name for r in RULES])
        properties = settings.properties | {
            "no-new-privileges": {
                **settings.properties.get("no-new-privileges", {}),
                "enginesSetNoNewPrivileges": True,
            }
        }
        pack.configure(settings.levels, properties)
        overrides = swarm_overrides("prod")
        swarm = evaluate("prod", with_overrides(read_stack_config("prod"), **overrides))
        found[SWARM] = Stack(from_evaluation(swarm), pack)
        yield found
    finally:
        for stack in found.values():
            stack.pack.close()


def _apply(resources: list[PolicyInput], variant: Variant) -> tuple[list[PolicyInput], str]:
    target = next(r for r in resources if r.name == variant.resource)
    props = variant.mutate(unwrap(target.inputs))
    if props is None:
        return [r for r in resources if r is not target], target.urn
    props = {k: v for k, v in props.items() if v is not None}
    changed = replace(target, inputs=props, outputs=props)
    return [changed if r is target else r for r in resources], target.urn


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_each_insecure_variant_is_rejected_by_its_policy(
    stacks: dict[str, Stack], variant: Variant
) -> None:
    stack = stacks[variant.stack]
    resources, urn = _apply(stack.resources, variant)
    rule = next(r for r in RULES if r.name == variant.policy)
    if rule.stack:
        found = stack.pack.analyze_stack(resources)
    else:
        found = stack.pack.analyze(next(r for r in resources if r.urn == urn))
    mandatory = [d for d in found if d.level == "mandatory"]
    assert variant.policy in {d.policy for d in mandatory}, [(d.policy, d.message) for d in found]


def test_the_catalogue_is_large_and_reaches_every_group() -> None:
    assert len(VARIANTS) >= 50 and len({v.id for v in VARIANTS}) == len(VARIANTS)
    groups = {next(r.group for r in RULES if r.name == v.policy) for v in VARIANTS}
    assert groups >= {"containers", "network", "tls", "credentials", "images", "vault"}
    named = {v.policy for v in VARIANTS}
    assert all(re.fullmatch(r"[a-z0-9-]+", n) for n in named)


@pytest.mark.parametrize("name", ["dev", "prod", SWARM])
def test_each_stack_the_variants_start_from_passes_the_pack(
    stacks: dict[str, Stack], name: str
) -> None:
    # Control: a variant's rejection is its own change's, not the stack's.
    stack = stacks[name]
    found = [d for r in stack.resources for d in stack.pack.analyze(r)]
    found += stack.pack.analyze_stack(stack.resources)
    assert [(d.policy, d.urn) for d in found if d.level == "mandatory"] == []
