"""Loki's configuration, pure: single binary, filesystem storage on its volume, retention
(by age here; by size through the runtime configuration its size guard writes), TLS with
client certificates on its HTTP port, gRPC on loopback only.

Keys after Loki 3's configuration reference (server.http_tls_config, tls_min_version,
common, schema_config v13 with tsdb, compactor retention, limits_config.retention_period,
runtime_config).
"""

from __future__ import annotations

from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.loki.definition import DEFINITION
from components.yaml_document import yaml_text

CONFIG = f"{CONFIG_DIR}/loki.yaml"
DATA = "/loki"
"""The official image's data folder (owned by its user)."""
STORE_NAME = "loki-store"
"""The store's name on the logs network; clients dial `loki`, the gate."""
CHUNKS = f"{DATA}/chunks"
"""The filesystem store: `<tenant>/...` its chunks, `index/` the shipped index."""
TMP = "/tmp"  # noqa: S108 (the container's own tmpfs)
RUNTIME_FILE = f"{TMP}/size-guard/overrides.yaml"
"""Loki's runtime configuration, written by its size guard (size_guard.py) on the
container's tmpfs: a full volume cannot keep it from being written, nor Loki from starting."""
RUNTIME_PERIOD = "1m"
DELETE_DELAY = "2h"
"""How long the compactor keeps a chunk marked for deletion (Loki's default, written out:
the size guard's documentation counts on it)."""
GRPC_PORT = 9095


def loki_yaml(retention_hours: int) -> str:
    return yaml_text(
        {
            # One tenant; who may do what is the gate's business (components/loki/gate.py).
            "auth_enabled": False,
            "server": {
                "http_listen_port": DEFINITION.tls_port,
                "grpc_listen_address": "127.0.0.1",
                "grpc_listen_port": GRPC_PORT,
                "http_tls_config": {
                    "cert_file": f"{TLS_DIR}/server.crt",
                    "key_file": f"{TLS_DIR}/server.key",
                    "client_auth_type": "RequireAndVerifyClientCert",
                    "client_ca_file": f"{TLS_DIR}/ca.crt",
                },
                "tls_min_version": "VersionTLS12",
                "log_level": "info",
            },
            "common": {
                "instance_addr": "127.0.0.1",
                "path_prefix": DATA,
                "replication_factor": 1,
                "ring": {"kvstore": {"store": "inmemory"}},
                "storage": {
                    "filesystem": {
                        "chunks_directory": CHUNKS,
                        "rules_directory": f"{DATA}/rules",
                    }
                },
            },
            "schema_config": {
                "configs": [
                    {
                        "from": "2024-01-01",
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            # Alloy sends request and trace ids as structured metadata (Loki 3 default,
            # written out: the pipeline depends on it).
            "limits_config": {
                "retention_period": f"{retention_hours}h",
                "allow_structured_metadata": True,
            },
            "compactor": {
                "working_directory": f"{DATA}/compactor",
                "retention_enabled": True,
                "retention_delete_delay": DELETE_DELAY,
                "delete_request_store": "filesystem",
            },
            # The size guard's per-tenant retention (size_guard.py), read again every period.
            "runtime_config": {"file": RUNTIME_FILE, "period": RUNTIME_PERIOD},
            "analytics": {"reporting_enabled": False},
        }
    )
