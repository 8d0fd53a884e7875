"""Grafana's provisioning files, pure: datasources with fixed uids (dashboards refer to
them), each over TLS verified for the backend's name with the platform CA and with the
backend's credentials, and the provider that loads the dashboards.

Formats: Grafana "Provision Grafana" docs (datasources: apiVersion 1, uid, jsonData,
secureJsonData, prune; dashboards: providers of type file). Provisioning files expand
`$NAME` from the environment, so every `$` of a value is written `$$` (the docs' escape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.app.contract import TRACE_ID_FIELD
from components.grafana.settings_ini import DASHBOARDS
from components.yaml_document import yaml_text

PROMETHEUS_UID = "prometheus"
ALERTMANAGER_UID = "alertmanager"
LOKI_UID = "loki"
JAEGER_UID = "jaeger"
FOLDER_UID = "vos"
TRACE_ID_MATCHER = rf'"{TRACE_ID_FIELD}":\s*"([0-9a-f]{{32}})"'
"""The trace id of a JSON log line (the edge's, an app's by the contract), for Grafana's
derived field: a link from the line to the trace in Jaeger."""


def loki_json_data(tracing: bool) -> dict[str, Any]:
    """Loki's datasource options; with Jaeger, each line's trace id links to its trace
    (Grafana "Loki data source": derivedFields with datasourceUid, matcherRegex, url as the
    internal link's query, `${__value.raw}` the matched id)."""
    data: dict[str, Any] = {"maxLines": 1000}
    if tracing:
        data["derivedFields"] = [
            {
                "name": "TraceID",
                "matcherRegex": TRACE_ID_MATCHER,
                "datasourceUid": JAEGER_UID,
                "url": "${__value.raw}",
                "urlDisplayLabel": "Trace in Jaeger",
            }
        ]
    return data


@dataclass(frozen=True)
class Datasource:
    uid: str
    name: str
    type: str
    url: str
    server_name: str
    """The name its certificate must carry."""
    basic_auth: tuple[str, str] | None = None
    """(user, password)"""
    client_certificate: tuple[str, str] | None = None
    """(certificate PEM, key PEM) where the backend demands one."""
    json_data: dict[str, Any] = field(default_factory=dict)
    default: bool = False


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def _entry(source: Datasource, ca_pem: str) -> dict[str, Any]:
    json_data: dict[str, Any] = {
        "tlsAuthWithCACert": True,
        "serverName": source.server_name,
        **source.json_data,
    }
    secure: dict[str, str] = {"tlsCACert": ca_pem}
    entry: dict[str, Any] = {
        "name": source.name,
        "type": source.type,
        "uid": source.uid,
        "access": "proxy",
        "url": source.url,
        "isDefault": source.default,
        "editable": False,
    }
    if source.basic_auth:
        user, password = source.basic_auth
        entry |= {"basicAuth": True, "basicAuthUser": user}
        secure["basicAuthPassword"] = password
    if source.client_certificate:
        cert, key = source.client_certificate
        json_data["tlsAuth"] = True
        secure |= {"tlsClientCert": cert, "tlsClientKey": key}
    return entry | {"jsonData": json_data, "secureJsonData": secure}


def datasources_yml(sources: list[Datasource], ca_pem: str) -> str:
    """`prune`: a datasource dropped from this file is deleted from Grafana."""
    document = {
        "apiVersion": 1,
        "prune": True,
        "datasources": [_entry(s, ca_pem) for s in sources],
    }
    return yaml_text(_escaped(document))


def dashboards_yml() -> str:
    """One provider: the generated dashboards, read-only in the UI (code is their source)."""
    return yaml_text(
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "vos",
                    "orgId": 1,
                    "folder": "VOS",
                    "folderUid": FOLDER_UID,
                    "type": "file",
                    "disableDeletion": True,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 60,
                    "options": {"path": DASHBOARDS, "foldersFromFilesStructure": False},
                }
            ],
        }
    )
