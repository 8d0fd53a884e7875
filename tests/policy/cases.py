"""A compliant example of each resource kind, and one violating variant per rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
SWARM_SERVICE_TYPE = "docker:index/service:Service"
IMAGE = "docker:index/remoteImage:RemoteImage"
PASSWORD = "random:index/randomPassword:RandomPassword"
KEY = "tls:index/privateKey:PrivateKey"
CA = "tls:index/selfSignedCert:SelfSignedCert"
LEAF = "tls:index/locallySignedCert:LocallySignedCert"
KV = "pulumi-python:dynamic/vault:KvSecret"
POLICY = "pulumi-python:dynamic/vault:Policy"
APPROLE = "pulumi-python:dynamic/vault:AppRole"

SERVICE: dict[str, Any] = {
    "name": "vos-dev-svc",
    "hostname": "svc",
    "image": "sha256:0123",
    "user": "999:999",
    "command": ["svc", "--scheme", "https"],
    "envs": ["MODE=production", "DB_PASSWORD_FILE=/etc/vos/secrets/db"],
    "readOnly": True,
    "capabilities": {"drops": ["ALL"], "adds": []},
    "securityOpts": ["no-new-privileges:true"],
    "memory": 512.0,
    "memorySwap": 512.0,
    "cpus": "0.5",
    "restart": "unless-stopped",
    "mustRun": True,
    "healthcheck": {"tests": ["CMD", "probe"]},
    "logDriver": "json-file",
    "logOpts": {"max-size": "10m", "max-file": "3"},
    "networksAdvanced": [{"name": "vos-dev-backend", "aliases": ["svc"]}],
    "labels": [{"label": "vos.service", "value": "svc"}],
}
SWARM_SERVICE: dict[str, Any] = {
    "name": "vos-prod-postgres",
    "labels": [{"label": "vos.service", "value": "postgres"}],
    "taskSpec": {
        "containerSpec": {"image": "postgres@sha256:" + "0" * 64, "user": "999:999",
                          "readOnly": True, "capDrops": ["ALL"],
                          "mounts": [{"type": "volume", "source": "vos-prod-postgres-data",
                                      "target": "/var/lib/postgresql/data"}]},
        "placement": {"constraints": ["node.labels.data==true"]},
    },
    "mode": {"replicated": {"replicas": 1}},
    "endpointSpec": {"mode": "vip"},
    "updateConfig": {"failureAction": "rollback", "order": "stop-first"},
}  # fmt: skip
SWARM_EDGE: dict[str, Any] = {
    "name": "vos-prod-edge",
    "labels": [{"label": "vos.service", "value": "edge"}],
    "taskSpec": {"containerSpec": {"image": "nginx@sha256:" + "0" * 64}},
    "mode": {"global": True},
    "endpointSpec": {"ports": [{"targetPort": 8443, "publishedPort": 443,
                                "publishMode": "host"}]},
    "updateConfig": {"failureAction": "rollback"},
}  # fmt: skip
SWARM_GATEWAY: dict[str, Any] = {
    "name": "vos-prod-api-gateway",
    "labels": [{"label": "vos.service", "value": "api-gateway"}],
    "taskSpec": {"containerSpec": {"image": "gw@sha256:" + "0" * 64},
                 "placement": {"maxReplicas": 1}},
    "mode": {"replicated": {"replicas": 2}},
    "updateConfig": {"failureAction": "rollback", "order": "stop-first"},
}  # fmt: skip
OVERLAY: dict[str, Any] = {"name": "vos-prod-backend", "driver": "overlay", "internal": True,
                           "attachable": False, "options": {"encrypted": ""}}  # fmt: skip
SQUID_CONF = (
    "https_port 3129 tls-cert=/etc/vos/tls/server.crt tls-key=/etc/vos/tls/server.key "
    "clientca=/etc/vos/tls/ca.crt\n"
    "acl CONNECT method CONNECT\nhttp_access deny !CONNECT\n"
    "acl app_a user_cert CN a\nacl app_a_to_443 dstdomain -n api.example.com\n"
    "acl port_443 port 443\nhttp_access allow app_a app_a_to_443 port_443\n"
    "http_access deny all\n"
)
PROXY_CARRIER: dict[str, Any] = {
    "name": "vos-dev-egress-proxy-files",
    "image": "sha256:0123",
    "start": False,
    "mustRun": False,
    "networkMode": "none",
    "labels": [{"label": "vos.service", "value": "egress-proxy"}],
    "uploads": [{"file": "/etc/vos/squid.conf", "permissions": "0444", "owner": "13",
                 "content": SQUID_CONF}],
}  # fmt: skip
CARRIER: dict[str, Any] = {
    "name": "vos-dev-svc-files",
    "image": "sha256:0123",
    "user": "999:999",
    "start": False,
    "mustRun": False,
    "restart": "no",
    "readOnly": False,
    "networkMode": "none",
    "capabilities": {"drops": ["ALL"]},
    "securityOpts": ["no-new-privileges:true"],
    "labels": [{"label": "vos.service", "value": "svc"}],
    "uploads": [
        {"file": "/etc/vos/postgresql.conf", "permissions": "0444", "owner": "999",
         "content": "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\n"},
        {"file": "/etc/vos/pg_hba.conf", "permissions": "0444", "owner": "999",
         "content": "local all all scram-sha-256\nhostnossl all all all reject\n"
                    "hostssl vos svc all scram-sha-256\n"},
        {"file": "/etc/vos/rabbitmq.conf", "permissions": "0444", "owner": "999",
         "content": "listeners.tcp = none\nlisteners.ssl.default = 5671\n"},
        {"file": "/etc/vos/tls/server.key", "permissions": "0400", "owner": "999",
         "content": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"},
    ],
}  # fmt: skip
WEAVIATE = SERVICE | {
    "envs": [
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false",
        "AUTHENTICATION_APIKEY_ENABLED=true",
        "AUTHORIZATION_ADMINLIST_ENABLED=true",
        "PERSISTENCE_DATA_PATH=/var/lib/weaviate",
    ]
}
GRAFANA = SERVICE | {
    "envs": [
        "GF_SERVER_PROTOCOL=https",
        "GF_SECURITY_COOKIE_SECURE=true",
        "GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/vos/secrets/admin",
    ]
}
PUBLISHED = SERVICE | {"ports": [{"internal": 8443.0, "external": 18443.0, "ip": "127.0.0.1"}]}
GOOD: dict[str, tuple[str, dict[str, Any]]] = {
    "key": (KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256"}),
    "ca": (CA, {"isCaCertificate": True, "validityPeriodHours": 8760.0,
                "earlyRenewalHours": 720.0,
                "allowedUses": ["cert_signing", "crl_signing", "digital_signature"]}),
    "leaf": (LEAF, {"validityPeriodHours": 2160.0, "earlyRenewalHours": 720.0,
                    "allowedUses": ["digital_signature", "server_auth"]}),
    "password": (PASSWORD, {"length": 32.0, "keepers": {"rotation": "0", "class": "x"}}),
    "image": (IMAGE, {"name": "postgres:17.6@sha256:" + "0" * 64}),
    "kv": (KV, {"insecure_skip_verify": False, "purge_on_delete": False}),
    "vault-policy": (POLICY, {"policy": 'path "secret/data/vos/dev/svc/*" {\n'
                                        '  capabilities = ["read"]\n}\n'}),
    "approle": (APPROLE, {"secret_id_ttl": "24h", "renew_before_s": 3600}),
}  # fmt: skip


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            found.pop(key, None)
        else:
            found[key] = value
    return found


def with_env(base: dict[str, Any], *entries: str, drop: str = "") -> dict[str, Any]:
    envs = [e for e in base["envs"] if not (drop and e.startswith(drop + "="))]
    return changed(base, envs=envs + list(entries))


def with_file(base: dict[str, Any], suffix: str, edit: Callable[[str], str], **fields: Any) -> Any:
    found = copy.deepcopy(base)
    for upload in found["uploads"]:
        if upload["file"].endswith(suffix):
            upload["content"] = edit(upload["content"])
            upload.update(fields)
    return found


# rule -> (resource type, compliant props, violating props, rule config)
RESOURCE_CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "swarm-overlays-encrypted": (NETWORK, OVERLAY, changed(OVERLAY, options={}), {}),
    "swarm-overlays-not-attachable": (NETWORK, OVERLAY, changed(OVERLAY, attachable=True), {}),
    "swarm-rollback-on-failure": (SWARM_SERVICE_TYPE, SWARM_SERVICE, changed(
        SWARM_SERVICE, updateConfig={"failureAction": "pause"}), {}),
    "swarm-host-mode-edge-only": (SWARM_SERVICE_TYPE, SWARM_EDGE, changed(SWARM_EDGE, endpointSpec={
        "ports": [{"targetPort": 8443, "publishedPort": 443, "publishMode": "ingress"}]}), {}),
    "swarm-stateful-pinned": (SWARM_SERVICE_TYPE, SWARM_SERVICE, changed(
        SWARM_SERVICE, mode={"replicated": {"replicas": 2}}), {}),
    "swarm-gateway-replicated": (SWARM_SERVICE_TYPE, SWARM_GATEWAY, changed(
        SWARM_GATEWAY, mode={"replicated": {"replicas": 1}}), {}),
    "swarm-replicas-apart": (SWARM_SERVICE_TYPE, SWARM_GATEWAY, changed(
        SWARM_GATEWAY, taskSpec={**SWARM_GATEWAY["taskSpec"], "placement": {"maxReplicas": 2}}),
        {}),
    "no-privileged-containers": (CONTAINER, SERVICE, changed(SERVICE, privileged=True), {}),
    "no-host-network": (CONTAINER, SERVICE, changed(SERVICE, networkMode="host"), {}),
    "no-host-pid": (CONTAINER, SERVICE, changed(SERVICE, pidMode="host"), {}),
    "no-host-ipc": (CONTAINER, SERVICE, changed(SERVICE, ipcMode="host"), {}),
    "no-host-user-namespace": (CONTAINER, SERVICE, changed(SERVICE, usernsMode="host"), {}),
    "no-host-cgroup-namespace": (CONTAINER, SERVICE, changed(SERVICE, cgroupnsMode="host"), {}),
    "no-container-engine-socket": (CONTAINER, SERVICE, changed(SERVICE, volumes=[
        {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}]), {}),
    "no-sensitive-host-paths": (CONTAINER, changed(SERVICE, volumes=[
        {"hostPath": "/srv/data", "containerPath": "/data"}]), changed(SERVICE, volumes=[
        {"hostPath": "/etc", "containerPath": "/host-etc"}]), {}),
    "no-shared-mount-propagation": (CONTAINER, SERVICE, changed(SERVICE, mounts=[
        {"type": "bind", "source": "/srv/x", "target": "/x",
         "bindOptions": {"propagation": "rshared"}}]), {}),
    "drop-all-capabilities": (CONTAINER, SERVICE, changed(
        SERVICE, capabilities={"drops": ["NET_RAW"]}), {}),
    "no-dangerous-capabilities": (CONTAINER, changed(
        SERVICE, capabilities={"drops": ["ALL"], "adds": ["CHOWN"]}), changed(
        SERVICE, capabilities={"drops": ["ALL"], "adds": ["SYS_ADMIN"]}),
        {"allowedCapabilities": ["CHOWN", "SYS_ADMIN"]}),
    "no-new-privileges": (CONTAINER, SERVICE, changed(SERVICE, securityOpts=[]), {}),
    "keep-kernel-confinement": (CONTAINER, SERVICE, changed(SERVICE, securityOpts=[
        "no-new-privileges:true", "seccomp=unconfined"]), {}),
    "read-only-root-filesystem": (CONTAINER, CARRIER, changed(SERVICE, readOnly=False), {}),
    "files-carrier-never-runs": (CONTAINER, CARRIER, changed(CARRIER, networkMode="bridge"), {}),
    "non-root-user": (CONTAINER, changed(SERVICE, user="0:0", hostname="weaviate", labels=[]),
                      changed(SERVICE, user="0:0"), {"allowedRootServices": ["weaviate"]}),
    "memory-limit": (CONTAINER, SERVICE, changed(SERVICE, memorySwap=-1.0), {}),
    "cpu-limit": (CONTAINER, SERVICE, changed(SERVICE, cpus=None), {}),
    "healthcheck-defined": (CONTAINER, changed(
        SERVICE, mustRun=False, healthcheck=None, restart="no"),
        changed(SERVICE, healthcheck=None), {}),
    "restart-policy": (CONTAINER, SERVICE, changed(SERVICE, restart="no"), {}),
    "log-rotation": (CONTAINER, SERVICE, changed(SERVICE, logOpts={"max-size": "10m"}), {}),
    "user-defined-network": (CONTAINER, CARRIER, changed(SERVICE, networksAdvanced=[]), {}),
    "no-host-devices": (CONTAINER, SERVICE, changed(SERVICE, devices=[
        {"hostPath": "/dev/kvm"}]), {}),
    "no-publish-all-ports": (CONTAINER, SERVICE, changed(SERVICE, publishAllPorts=True), {}),
    "docker-daemon-secured": (CONTAINER, SERVICE, SERVICE, {}),  # provider below
    "published-ports-on-bind-address": (CONTAINER, PUBLISHED, changed(PUBLISHED, ports=[
        {"internal": 8443.0, "external": 18443.0}]), {}),
    "published-ports-are-tls": (CONTAINER, PUBLISHED, changed(PUBLISHED, ports=[
        {"internal": 8080.0, "external": 18080.0, "ip": "127.0.0.1"}]), {"tlsPorts": [8443]}),
    "no-backend-published": (CONTAINER, PUBLISHED, changed(PUBLISHED, hostname="postgres",
                             labels=[]), {"backends": ["postgres"]}),
    "no-privileged-host-ports": (CONTAINER, PUBLISHED, changed(PUBLISHED, ports=[
        {"internal": 8443.0, "external": 443.0, "ip": "127.0.0.1"}]), {}),
    "tls-key-strength": (KEY, GOOD["key"][1], {"algorithm": "RSA", "rsaBits": 2048.0}, {}),
    "tls-certificate-validity": (LEAF, GOOD["leaf"][1], changed(
        GOOD["leaf"][1], validityPeriodHours=100000.0), {}),
    "tls-certificate-usages": (LEAF, GOOD["leaf"][1], changed(
        GOOD["leaf"][1], allowedUses=["server_auth", "cert_signing"]), {}),
    "postgres-tls-only": (CONTAINER, CARRIER, with_file(
        CARRIER, "pg_hba.conf", lambda t: t + "host all all all trust\n"), {}),
    "rabbitmq-tls-only": (CONTAINER, CARRIER, with_file(
        CARRIER, "rabbitmq.conf", lambda t: t + "management.tcp.port = 15672\n"), {}),
    "rabbitmq-metrics-scrape-only": (CONTAINER, with_file(
        CARRIER, "rabbitmq.conf", lambda t: t + "ssl_options.cacertfile = /t/ca.crt\n"
        "prometheus.ssl.port = 15691\nprometheus.ssl.verify = verify_peer\n"
        "prometheus.ssl.fail_if_no_peer_cert = true\nprometheus.ssl.cacertfile = /t/m.crt\n"),
        with_file(CARRIER, "rabbitmq.conf", lambda t: t + "ssl_options.cacertfile = /t/ca.crt\n"
        "prometheus.ssl.port = 15691\nprometheus.ssl.verify = verify_peer\n"
        "prometheus.ssl.fail_if_no_peer_cert = true\nprometheus.ssl.cacertfile = /t/ca.crt\n"),
        {}),
    "https-scheme-only": (CONTAINER, SERVICE, changed(
        SERVICE, command=["svc", "--scheme", "http"]), {}),
    "no-tls-verification-disabled": (CONTAINER, SERVICE, with_env(
        SERVICE, "OTEL_EXPORTER_OTLP_INSECURE=true"), {}),
    "no-plaintext-urls": (CONTAINER, with_env(SERVICE, "OTEL_ENDPOINT=https://jaeger:4318"),
                          with_env(SERVICE, "OTEL_ENDPOINT=http://jaeger:4318"), {}),
    "private-keys-protected": (CONTAINER, CARRIER, with_file(
        CARRIER, "server.key", lambda t: t, permissions="0644"), {}),
    "no-default-credentials": (CONTAINER, SERVICE, with_env(
        SERVICE, "POSTGRES_HOST_AUTH_METHOD=trust"), {}),
    "no-literal-secrets-in-env": (CONTAINER, SERVICE, with_env(
        SERVICE, "DB_PASSWORD=hunter2hunter2"), {}),
    "weaviate-requires-auth": (CONTAINER, WEAVIATE, with_env(
        WEAVIATE, drop="AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"), {}),
    "grafana-requires-auth": (CONTAINER, GRAFANA, with_env(
        GRAFANA, "GF_AUTH_ANONYMOUS_ENABLED=true"), {}),
    "generated-secrets-strong": (PASSWORD, GOOD["password"][1], changed(
        GOOD["password"][1], length=12.0), {}),
    "image-tag-pinned": (IMAGE, {"name": "postgres:17.6"}, {"name": "postgres:latest"}, {}),
    "image-digest-pinned": (IMAGE, GOOD["image"][1], {"name": "postgres:17.6"}, {}),
    "vault-tls-verified": (KV, GOOD["kv"][1], changed(GOOD["kv"][1], insecure_skip_verify=True),
                           {}),
    "vault-history-kept": (KV, GOOD["kv"][1], changed(GOOD["kv"][1], purge_on_delete=True), {}),
    "vault-policy-least-privilege": (POLICY, GOOD["vault-policy"][1], {
        "policy": 'path "secret/data/*" {\n  capabilities = ["read", "update"]\n}\n'}, {}),
    "approle-secret-id-expires": (APPROLE, GOOD["approle"][1], {"secret_id_ttl": "0"}, {}),
    "egress-proxy-locked-down": (CONTAINER, PROXY_CARRIER, with_file(
        PROXY_CARRIER, "squid.conf", lambda t: t.replace("-n api.example.com", "-n .example.com")),
        {}),
}  # fmt: skip
