"""Loki and Alloy as rendered, against their documented formats (neither has a binary for
these machines: tests/docker/images.py NO_STAND_IN). The gate in front of Loki runs on real
nginx in tests/integration/test_loki_gate.py; the log records Alloy reads are a real
engine's in the Docker tier.

Sources: Loki 3 configuration reference (server.http_tls_config, grpc_listen_address,
common, schema_config, compactor retention); Alloy's component reference
(local.file_match, loki.source.file, loki.process stages, loki.write endpoint.tls_config);
Docker's json-file driver options (`labels` -> `attrs`)."""

from __future__ import annotations

import json
import re
from typing import Any

import jmespath
import pytest
import yaml
from cryptography import x509

from components.alloy import files as alloy
from components.docker.engine_defaults import LOG_LABELS
from components.docker.spec import TLS_DIR
from components.loki import files as loki
from components.loki import gate, size_guard
from stacks.images import project_path
from stacks.retention_settings import LokiRetention
from tests.helpers import output
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation, evaluate
from tools.offline.stack_files import read_stack_config, with_overrides

PROVES = ("loki", "alloy")
"""Packages whose files this module checks (tests/program/test_registry.py)."""


@pytest.fixture(scope="module")
def rendered(dev: Evaluation) -> dict[str, RenderedContainer]:
    return containers(dev)


def _networks(container: RenderedContainer) -> set[str]:
    return {str(n["name"]) for n in container.networks}


def test_only_the_gate_reaches_the_store(rendered: dict[str, RenderedContainer]) -> None:
    store, the_gate = rendered[loki.STORE_NAME], rendered["loki"]
    assert _networks(store) == {"vos-dev-logs"}
    assert _networks(the_gate) == {"vos-dev-backend", "vos-dev-logs"}
    others = [c for name, c in rendered.items() if name not in ("loki", loki.STORE_NAME)]
    assert all("vos-dev-logs" not in _networks(c) for c in others)
    assert all(a["aliases"] == [loki.STORE_NAME] for a in store.networks)


def test_the_store_demands_a_client_certificate_and_keeps_grpc_inside(
    rendered: dict[str, RenderedContainer],
) -> None:
    store = rendered[loki.STORE_NAME]
    config = yaml.safe_load(store.file(loki.CONFIG))
    server = config["server"]
    assert server["grpc_listen_address"] == "127.0.0.1"
    tls = server["http_tls_config"]
    assert tls["client_auth_type"] == "RequireAndVerifyClientCert"
    assert {tls["cert_file"], tls["key_file"], tls["client_ca_file"]} <= set(store.files)
    assert server["tls_min_version"] == "VersionTLS12"
    assert config["compactor"]["retention_enabled"] is True
    assert config["limits_config"]["retention_period"] == f"{LokiRetention().days * 24}h"
    assert config["common"]["path_prefix"] == loki.DATA
    (schema,) = config["schema_config"]["configs"]
    assert schema["store"] == "tsdb" and schema["schema"] == "v13"
    assert store.command == ["/usr/bin/loki", f"-config.file={loki.CONFIG}"]


def test_the_store_starts_its_size_guard_on_the_file_loki_reads(
    rendered: dict[str, RenderedContainer],
) -> None:
    """The guard (run on busybox in tests/integration/test_loki_size_guard.py) measures the
    volume and the chunks Loki writes, and writes the file Loki's runtime configuration
    names, on the container's tmpfs (a full volume must not keep Loki from starting); the
    health check looks at that file; the compactor applies retention (a per-tenant period
    means nothing without)."""
    store = rendered[loki.STORE_NAME]
    config = yaml.safe_load(store.file(loki.CONFIG))
    env = store.env
    assert store.entrypoint == [size_guard.SHELL, size_guard.SCRIPT]
    assert store.file(size_guard.SCRIPT) == size_guard.script()
    assert config["runtime_config"]["file"] == env["VOS_LOKI_RUNTIME_FILE"]
    tmpfs = [path for path in store.tmpfs if env["VOS_LOKI_RUNTIME_FILE"].startswith(f"{path}/")]
    assert tmpfs and not env["VOS_LOKI_RUNTIME_FILE"].startswith(f"{loki.DATA}/")
    assert env["VOS_LOKI_DATA"] == config["common"]["path_prefix"] == loki.DATA
    assert store.volumes[loki.DATA] is False  # Loki's own volume
    assert env["VOS_LOKI_CHUNKS"] == config["common"]["storage"]["filesystem"]["chunks_directory"]
    defaults = LokiRetention()  # dev's: retention.loki unset
    assert int(env["VOS_LOKI_RETENTION_DAYS"]) == defaults.days
    assert config["limits_config"]["retention_period"] == f"{defaults.days * 24}h"
    assert int(env["VOS_LOKI_BUDGET_KIB"]) == defaults.gib * 1024 * 1024
    assert env["VOS_LOKI_TENANT"] == "fake" and config["auth_enabled"] is False
    assert config["compactor"]["retention_enabled"] is True
    assert env["VOS_LOKI_RUNTIME_FILE"] in store.healthcheck[-1]


def test_the_retention_settings_reach_loki_its_guard_and_prometheus() -> None:
    evaluation = evaluate(
        "dev",
        with_overrides(
            read_stack_config("dev"),
            retention={"loki": {"days": 3, "gib": 2}, "prometheus": {"days": 30, "gib": 50}},
        ),
    )
    rendered = containers(evaluation)
    store = rendered[loki.STORE_NAME]
    assert yaml.safe_load(store.file(loki.CONFIG))["limits_config"]["retention_period"] == "72h"
    assert store.env["VOS_LOKI_RETENTION_DAYS"] == "3"
    assert store.env["VOS_LOKI_BUDGET_KIB"] == str(2 * 1024 * 1024)
    flags = rendered["prometheus"].command
    assert "--storage.tsdb.retention.time=30d" in flags
    assert "--storage.tsdb.retention.size=50GiB" in flags


def test_the_gate_presents_its_own_identity_to_the_store(
    rendered: dict[str, RenderedContainer], dev: Evaluation
) -> None:
    the_gate = rendered["loki"]
    conf = the_gate.file(gate.CONF)
    assert f'set $vos_store "{loki.STORE_NAME}:3100";' in conf
    assert "proxy_ssl_name loki;" in conf and "proxy_ssl_verify on;" in conf
    cert = x509.load_pem_x509_certificate(the_gate.file(gate.GATE_CERT).encode())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "loki-gate"
    platform = str(output(dev.named("pki-ca-cert"), "certPem"))
    metrics = str(output(dev.named("pki-metrics-ca-cert"), "certPem"))
    readers = str(output(dev.named("pki-readers-ca-cert"), "certPem"))
    assert the_gate.file(gate.CLIENT_CAS) == platform + metrics + readers


def _blocks(config: str) -> set[str]:
    return {
        f"{kind}.{label}" for kind, label in re.findall(r'^([a-z_.]+) "([a-z_]+)" \{', config, re.M)
    }


def test_alloys_pipeline_references_only_blocks_it_defines(
    rendered: dict[str, RenderedContainer],
) -> None:
    config = rendered["alloy"].file(alloy.CONFIG)
    defined = _blocks(config)
    assert defined == {
        "local.file_match.containers",
        "loki.source.file.containers",
        "loki.process.containers",
        # Vault's audit log (dev's vault.auditLogFolder: test_vault_audit_shipping.py)
        "local.file_match.vault_audit",
        "loki.source.file.vault_audit",
        "loki.process.vault_audit",
        "loki.write.loki",
    }
    for reference in re.findall(r"\b((?:local|loki)\.[a-z_.]+?)\.(?:receiver|targets)\b", config):
        assert reference in defined, reference
    assert f'"__path__" = "{alloy.ENGINE_LOGS}/*/*-json.log"' in config
    # The JMESPath expressions (checked on records below and on a real engine's), as the
    # config language quotes them.
    for name, expression in alloy.EXPRESSIONS.items():
        quoted = expression.replace('"', '\\"')
        assert f'{name} = "{quoted}"' in config, name
    # It pushes to the gate's writer path with its writer certificate, verified as loki.
    assert f'url = "https://loki:3100{gate.PUSH_PATHS[0]}"' in config
    for path in (alloy.CLIENT_CERT, alloy.CLIENT_KEY, f"{TLS_DIR}/ca.crt"):
        assert f'"{path}"' in config and path in rendered["alloy"].files
    cert = x509.load_pem_x509_certificate(rendered["alloy"].file(alloy.CLIENT_CERT).encode())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "alloy"


def test_alloy_reads_log_files_through_a_read_only_mount_and_no_socket(dev: Evaluation) -> None:
    (server,) = [r for r in dev.registrations if r.name == "alloy-server"]
    inputs: dict[str, Any] = dict(server.inputs)
    mounts = [dict(m) for m in inputs["mounts"]]
    assert mounts == [
        {
            "type": "bind",
            "source": alloy.ENGINE_LOGS,
            "target": alloy.ENGINE_LOGS,
            "readOnly": True,
        },
        {
            "type": "bind",
            "source": str(project_path(".state/vault/audit")),  # the dev Vault's audit log
            "target": alloy.VAULT_AUDIT,
            "readOnly": True,
        },
    ]
    assert "sock" not in json.dumps(inputs.get("volumes") or [], default=str)
    assert inputs["user"] == "0:0"
    assert inputs["capabilities"]["drops"] == ["ALL"] and not inputs["capabilities"].get("adds")


def test_every_container_logs_the_labels_alloy_reads(dev: Evaluation) -> None:
    running = [
        r
        for r in dev.registrations
        if r.type == "docker:index/container:Container" and r.inputs.get("start", True) is not False
    ]
    assert len(running) > 20
    for registration in running:
        assert registration.inputs["logOpts"]["labels"] == LOG_LABELS, registration.name
    assert {f"vos.{k}" for k in ("service", "stack")} == set(LOG_LABELS.split(","))


def test_the_expressions_pick_a_json_file_record_apart() -> None:
    """A record as the json-file driver writes it with `labels` (the Docker tier checks the
    expressions against a real engine's records too)."""
    record = {
        "log": "ready\n",
        "stream": "stderr",
        "time": "2026-11-28T10:00:00.123456789Z",
        "attrs": {"vos.service": "postgres", "vos.stack": "dev"},
    }
    picked = {name: jmespath.search(expr, record) for name, expr in alloy.EXPRESSIONS.items()}
    assert picked == {
        "output": "ready\n",
        "stream": "stderr",
        "time": "2026-11-28T10:00:00.123456789Z",
        "service": "postgres",
        "stack": "dev",
    }
