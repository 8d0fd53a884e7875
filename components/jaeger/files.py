"""Jaeger v2's configuration (one YAML file: the OpenTelemetry Collector's format with
Jaeger's extensions), pure.

Shape after Jaeger's own all-in-one configuration (cmd/jaeger/internal/all-in-one.yaml):
extensions jaeger_storage (a bounded in-memory backend), jaeger_query (reading it) and
healthcheckv2; the otlp receiver; jaeger_storage_exporter. TLS keys are the Collector's
configtls server settings: with `client_ca_file` every client must present a certificate
that CA issued."""

from __future__ import annotations

from components.app.contract import JAEGER_OTLP_GRPC_PORT
from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.jaeger.definition import DEFINITION
from components.yaml_document import yaml_text

CONFIG = f"{CONFIG_DIR}/jaeger.yaml"
OTLP_HTTP_PORT = 4318
HEALTH_PORT = 13133
TELEMETRY_PORT = 8888
READERS_CA = f"{TLS_DIR}/readers-ca.crt"
"""The readers CA: the query API's only accepted issuer (Grafana's reader)."""
STORAGE = "memstore"
MAX_TRACES = 100_000
"""The memory backend keeps at most this many traces, then drops the oldest."""


def _tls(client_ca: str) -> dict[str, str]:
    return {
        "cert_file": f"{TLS_DIR}/server.crt",
        "key_file": f"{TLS_DIR}/server.key",
        "client_ca_file": client_ca,
        "min_version": "1.2",
    }


def jaeger_yaml() -> str:
    """OTLP in (gRPC and HTTP): only clients with a platform certificate, i.e. the apps with
    their own identity. The query API (Grafana's Jaeger datasource): only a certificate of
    the readers CA (Grafana's reader). Health and the Collector's own metrics: loopback."""
    platform_ca = f"{TLS_DIR}/ca.crt"
    return yaml_text(
        {
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        "processors": ["batch"],
                        "exporters": ["jaeger_storage_exporter"],
                    }
                },
                "telemetry": {
                    "resource": {"service.name": DEFINITION.dns_name},
                    "metrics": {
                        "level": "basic",
                        "readers": [
                            {
                                "pull": {
                                    "exporter": {
                                        "prometheus": {
                                            "host": "127.0.0.1",
                                            "port": TELEMETRY_PORT,
                                        }
                                    }
                                }
                            }
                        ],
                    },
                    "logs": {"level": "info"},
                },
            },
            "extensions": {
                "jaeger_storage": {"backends": {STORAGE: {"memory": {"max_traces": MAX_TRACES}}}},
                "jaeger_query": {
                    "storage": {"traces": STORAGE},
                    "http": {
                        "endpoint": f"0.0.0.0:{DEFINITION.tls_port}",
                        "tls": _tls(READERS_CA),
                    },
                    "grpc": {"endpoint": "127.0.0.1:16685"},
                },
                "healthcheckv2": {
                    "use_v2": True,
                    "http": {"endpoint": f"127.0.0.1:{HEALTH_PORT}"},
                },
            },
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {
                            "endpoint": f"0.0.0.0:{JAEGER_OTLP_GRPC_PORT}",
                            "tls": _tls(platform_ca),
                        },
                        "http": {
                            "endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}",
                            "tls": _tls(platform_ca),
                        },
                    }
                }
            },
            "processors": {"batch": {}},
            "exporters": {"jaeger_storage_exporter": {"trace_storage": STORAGE}},
        }
    )
