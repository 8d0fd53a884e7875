"""Grafana's rendered files against Grafana's documented formats and rules (no Grafana binary
exists for these machines: see tests/docker/images.py NO_STAND_IN). Its datasources are
also used against the real Prometheus and Alertmanager in tests/integration/
test_monitoring.py.

Sources: "Configure Grafana" (grafana.ini keys, `$__file{}`), "Provision Grafana"
(datasource and dashboard provider files, `$` expansion), the dashboard JSON model docs
(provisioning reads the raw model; grafana/grafana#13029: the API wrapper fails with
"Dashboard title cannot be empty"), the official image's Dockerfile and run.sh (uid 472,
curl, GF_*__FILE)."""

from __future__ import annotations

import configparser
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography import x509

from components.alloy.files import COUNTS
from components.app.contract import METRICS, metric_series
from components.grafana import settings_ini as ini
from tests.backup_image import backup_series
from tests.helpers import output
from tests.promql import dashboard_queries, metric_names, quantiles_without_le
from tools.offline.rendered import RenderedContainer, containers
from tools.offline.runner import Evaluation

DATASOURCES = f"{ini.PROVISIONING}/datasources/vos.yml"

# What the provisioning docs define for a datasource file (the keys used here are required;
# Grafana ignores unknown ones, so a misspelt key would pass Grafana silently: refused here).
DATASOURCE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "datasources"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": 1},
        "prune": {"type": "boolean"},
        "deleteDatasources": {"type": "array"},
        "datasources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "type", "uid", "access", "url"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "type": {"enum": ["prometheus", "alertmanager", "loki", "jaeger"]},
                    "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
                    "access": {"const": "proxy"},
                    "url": {"type": "string", "pattern": "^https://"},
                    "isDefault": {"type": "boolean"},
                    "editable": {"type": "boolean"},
                    "basicAuth": {"type": "boolean"},
                    "basicAuthUser": {"type": "string"},
                    "jsonData": {"type": "object"},
                    "secureJsonData": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            k: {"type": "string"}
                            for k in (
                                "tlsCACert",
                                "tlsClientCert",
                                "tlsClientKey",
                                "basicAuthPassword",
                            )
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def grafana(dev: Evaluation) -> RenderedContainer:
    return containers(dev)["grafana"]


def _unescape(text: str) -> str:
    """What Grafana makes of a provisioning value: `$$` is `$`, `$NAME` and `${NAME}` are
    environment lookups (none is meant here, so any is an error)."""
    bare = re.search(r"(?<!\$)\$(?!\$)[{A-Za-z_]", text.replace("$$", ""))
    assert bare is None, f"unescaped environment reference in {text[:40]!r}"
    return text.replace("$$", "$")


def _datasources(grafana: RenderedContainer) -> list[dict[str, Any]]:
    document = yaml.safe_load(grafana.file(DATASOURCES))
    jsonschema.validate(document, DATASOURCE_SCHEMA)
    return list(document["datasources"])


def test_grafana_ini_keeps_everyone_out_without_a_login(grafana: RenderedContainer) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(grafana.file(ini.CONFIG))
    # The environment wins over grafana.ini: the login rules live there, nowhere else.
    assert grafana.env["GF_SERVER_PROTOCOL"] == "https"
    assert grafana.env["GF_SECURITY_COOKIE_SECURE"] == "true"
    assert grafana.env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana.env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert not {"protocol", "cookie_secure"} & {*config["server"], *config["security"]}
    assert config["server"]["min_tls_version"] == "TLS1.2"
    assert config["server"]["cert_file"] in grafana.files
    assert config["snapshots"]["external_enabled"] == "false"
    assert config["analytics"]["reporting_enabled"] == "false"
    # Secrets from files: the image's run.sh reads GF_*__FILE; grafana.ini expands $__file{}.
    for variable in ("GF_SECURITY_ADMIN_PASSWORD__FILE", "GF_SECURITY_SECRET_KEY__FILE"):
        path = grafana.env[variable]
        assert grafana.files[path].mode == "0400" and grafana.files[path].owner == "472"
    expanded = re.fullmatch(r"\$__file\{(.+)\}", config["metrics"]["basic_auth_password"])
    assert expanded and grafana.files[expanded.group(1)].mode == "0400"
    assert not any(k.endswith("PASSWORD") or k.endswith("KEY") for k in grafana.env)
    assert grafana.env["GF_PATHS_CONFIG"] == ini.CONFIG
    assert grafana.env["GF_PATHS_PROVISIONING"] == ini.PROVISIONING


def test_datasources_have_fixed_uids_tls_by_name_and_the_real_credentials(
    grafana: RenderedContainer, dev: Evaluation
) -> None:
    sources = {s["uid"]: s for s in _datasources(grafana)}
    assert set(sources) == {"prometheus", "alertmanager", "jaeger", "loki"}
    ca = str(output(dev.named("pki-ca-cert"), "certPem"))
    for uid, source in sources.items():
        host = re.match(r"https://([^:/]+)", source["url"])
        assert host and source["jsonData"]["serverName"] == host.group(1) == uid
        assert source["jsonData"]["tlsAuthWithCACert"] is True
        assert _unescape(source["secureJsonData"]["tlsCACert"]) == ca
        if uid in ("jaeger", "loki"):
            assert source["jsonData"]["tlsAuth"] is True
            continue
        password = str(output(dev.named(f"credentials-{uid}-admin-password"), "result"))
        assert source["basicAuth"] is True
        assert _unescape(source["secureJsonData"]["basicAuthPassword"]) == password
    # Jaeger and Loki by certificate: Grafana's reader identity, issued by the readers CA
    # (what Jaeger's query API trusts, tests/program/test_jaeger.py; and what Loki's gate
    # lets read, tests/integration/test_loki_gate.py).
    assert sources["jaeger"]["secureJsonData"] == sources["loki"]["secureJsonData"]
    reader = x509.load_pem_x509_certificate(
        _unescape(sources["jaeger"]["secureJsonData"]["tlsClientCert"]).encode()
    )
    readers_ca = x509.load_pem_x509_certificate(
        str(output(dev.named("pki-readers-ca-cert"), "certPem")).encode()
    )
    reader.verify_directly_issued_by(readers_ca)
    assert reader.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "grafana"
    assert grafana.files[DATASOURCES].mode == "0400"


def test_a_log_lines_trace_id_links_to_its_trace_in_jaeger(grafana: RenderedContainer) -> None:
    """Grafana "Loki data source", derived fields: an internal link (datasourceUid) whose
    query is the matched value. The regex meets a real nginx line in
    tests/integration/test_edge_routes.py; here an app's line as Python writes JSON."""
    sources = {s["uid"]: s for s in _datasources(grafana)}
    (field,) = sources["loki"]["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "jaeger" and field["datasourceUid"] in sources
    assert _unescape(field["url"]) == "${__value.raw}"  # what Grafana reads after expansion
    line = json.dumps({"msg": "done", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
    found = re.search(_unescape(field["matcherRegex"]), line)
    assert found and found[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert not re.search(_unescape(field["matcherRegex"]), '{"trace_id": ""}')


def test_a_dollar_in_a_value_is_escaped_for_grafanas_expansion() -> None:
    from components.grafana.datasources import Datasource, datasources_yml

    text = datasources_yml(
        [Datasource("prometheus", "P", "prometheus", "https://p:1", "p", ("a", "pa$$w$rd"))], "ca"
    )
    value = yaml.safe_load(text)["datasources"][0]["secureJsonData"]["basicAuthPassword"]
    assert _unescape(value) == "pa$$w$rd"
    with pytest.raises(AssertionError, match="unescaped"):
        _unescape("pa$sword")  # the control: what Grafana would read as $sword


FROM_LOGS = {counter.metric for count in COUNTS for counter in count.counters}
"""Counted by Alloy from log lines (components/log_counts.py), not an app's."""


def _dashboards(grafana: RenderedContainer) -> dict[str, dict[str, Any]]:
    found = {
        path: json.loads(file.content)
        for path, file in grafana.files.items()
        if path.startswith(f"{ini.DASHBOARDS}/")
    }
    assert found
    return found


def test_dashboards_are_raw_models_the_provider_loads(grafana: RenderedContainer) -> None:
    provider = yaml.safe_load(grafana.file(f"{ini.PROVISIONING}/dashboards/vos.yml"))
    (entry,) = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"] == ini.DASHBOARDS
    assert entry["folder"] and not entry["options"]["foldersFromFilesStructure"]
    dashboards = _dashboards(grafana)
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)
    assert {
        "vos-overview",
        "vos-gateway",
        "vos-agents",
        "vos-rabbitmq",
        "vos-postgres",
        "vos-certificates",
    } <= set(uids)
    for path, model in dashboards.items():
        assert "dashboard" not in model and "overwrite" not in model, path  # no API wrapper
        assert model.get("id") is None and model["title"], path
        assert isinstance(model["schemaVersion"], int)
        ids = [p["id"] for p in model["panels"]]
        assert len(set(ids)) == len(ids), path
        for panel in model["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (path, panel["title"])


def test_every_panel_query_parses_reads_known_metrics_and_uses_a_provisioned_datasource(
    grafana: RenderedContainer,
) -> None:
    provisioned = {s["uid"]: s["type"] for s in _datasources(grafana)}
    contract = {series for metric in METRICS for series in metric_series(metric)}
    for path, model in _dashboards(grafana).items():
        for panel in model["panels"]:
            for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
                assert provisioned.get(source["uid"]) == source["type"], (path, panel["title"])
        for variable in model["templating"]["list"]:
            if variable["type"] == "query":
                assert provisioned.get(variable["datasource"]["uid"]) == "prometheus"
        for expr in dashboard_queries(model):
            names = metric_names(expr)  # raises on bad syntax
            assert names, expr
            assert not quantiles_without_le(expr), expr
            app = {n for n in names if n.startswith(("http_server_", "vos_"))} - FROM_LOGS
            app -= backup_series()  # the backup service's own endpoint
            assert app <= contract, (path, app - contract)


def test_a_broken_query_or_a_lost_le_is_caught() -> None:
    with pytest.raises(ValueError):
        metric_names("sum(rate(up[5m])")
    assert quantiles_without_le("histogram_quantile(0.9, sum by (job) (rate(x_bucket[1m])))")
