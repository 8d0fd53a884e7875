"""Alloy's configuration (its own language), pure.

How logs leave the containers without the Docker socket (a socket mount is root on the
host: whoever holds it starts privileged containers). Every container of the stack logs
through the json-file driver with `labels=vos.service,vos.stack`, so each line the engine
writes to /var/lib/docker/containers/<id>/<id>-json.log carries
`"attrs":{"vos.service":...,"vos.stack":...}` (Docker docs, json-file options). Alloy tails
those files through a read-only bind mount (local.file_match + loki.source.file), takes
the line, stream, time and the two attributes out of each JSON record (stage.json), makes
service, stack and stream labels, and pushes to Loki's gate with its writer certificate.

The trade-off, in docs/ARCHITECTURE.md: Alloy reads the log files of every container on
the host (root, no capabilities, read-only), and depends on the engine's data root and
json-file driver; it cannot start, stop or inspect containers, which the socket would
allow. Component and stage names from Alloy's reference (local.file_match,
loki.source.file, loki.process with stage.json/labels/timestamp/output/label_drop,
loki.write with endpoint.tls_config, stage.match/logfmt/regex/metrics, the http block's
tls).

Its HTTP server (UI, API, /metrics) has no login of its own: it listens on the backend
network with TLS and demands a client certificate of the metrics CA, which only
Prometheus holds (the exporters' rule), so /metrics carries the
counts it takes from log lines (COUNTS: the egress proxy's refusals, the edge's answers,
the sidecars' failed reads of Vault, the rounds of Loki's size guard that cut its retention,
could not bring its volume under the budget, or failed)
to Prometheus and nothing else gets in."""

from __future__ import annotations

from components.app.contract import REQUEST_ID_FIELD, TRACE_ID_FIELD
from components.docker.spec import CONFIG_DIR, TLS_DIR
from components.edge import access_log
from components.egress_proxy import refusals
from components.log_counts import IDLE, PREFIX, LogCount
from components.loki import size_guard
from components.loki.definition import DEFINITION as LOKI
from components.loki.gate import PUSH_PATHS
from components.prometheus.web_config import CIPHER_SUITES, METRICS_CA
from components.vault_agent import failures as sidecar_failures

REQUEST_FIELDS = (REQUEST_ID_FIELD, TRACE_ID_FIELD)
"""Kept as Loki structured metadata from every JSON line that has them (the edge's, the
apps' by the contract): a request is found by id without parsing every line, and they are
never labels (a label value per request would make a stream per request)."""
COUNTS = (refusals.COUNT, access_log.COUNT, sidecar_failures.COUNT, size_guard.COUNT)
"""Counts taken from services' log lines, served on Alloy's /metrics."""

VAULT_AUDIT = "/var/log/vault"
"""Where Vault's audit log folder (vault.auditLogFolder) is mounted, read-only."""
AUDIT_FIELDS = {
    "time": "time",
    "type": "type",
    "role": "auth.metadata.role_name",
    "path": "request.path",
}
"""JMESPath into one line of Vault's file audit device (a request or a response, with the
caller's AppRole as auth.metadata.role_name: checked against OpenBao's own lines by
tests/integration/test_vault_agent.py). Kept as structured metadata, not labels."""
CONFIG = f"{CONFIG_DIR}/config.alloy"
ENGINE_LOGS = "/var/lib/docker/containers"
"""The engine's per-container folders (the default data root, /var/lib/docker)."""
DATA = "/var/lib/alloy/data"
"""Positions in each file, so a restart neither loses nor repeats lines."""
CLIENT_CERT = f"{TLS_DIR}/client.crt"
CLIENT_KEY = f"{TLS_DIR}/client.key"
EXPRESSIONS = {
    "output": "log",
    "stream": "stream",
    "time": "time",
    "service": 'attrs."vos.service"',
    "stack": 'attrs."vos.stack"',
}
"""JMESPath into one json-file record (checked against a real engine's records by the
Docker tier)."""
LABELS = ("service", "stack", "stream")


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _count_stages(count: LogCount) -> str:
    """One service's counts (components/log_counts.py), only for its stream (stdout, not its
    error log), from the line
    Docker's record carried (`output`, before it replaces the entry)."""
    selector = _string(count.selector)
    fields = "".join(f'        {name} = "",\n' for name in count.fields)
    parts = []
    if count.parser:
        parts.append(f"""
    stage.{count.parser} {{
      source = "output"
      {"mapping" if count.parser == "logfmt" else "expressions"} = {{
{fields}      }}
    }}
""")
    parts += [
        f"""
    stage.regex {{
      source     = "{extract.source}"
      expression = {_string(extract.expression)}
    }}
"""
        for extract in count.extracts
    ]
    if count.labels:
        labels = "".join(f'        {name} = "",\n' for name in count.labels)
        parts.append(f"""
    stage.labels {{
      values = {{
{labels}      }}
    }}
""")
    for counter in count.counters:
        match = (
            f'        source            = "{counter.source}"\n'
            f'        value             = "{counter.value}"\n'
            if counter.source
            else "        match_all         = true\n"
        )
        parts.append(f"""
    stage.metrics {{
      metric.counter {{
        name              = "{counter.name}"
        prefix            = "{PREFIX}"
        description       = {_string(counter.description)}
{match}        action            = "inc"
        max_idle_duration = "{IDLE}"
      }}
    }}
""")
    return f"""
  stage.match {{
    selector = {selector}
{"".join(parts)}  }}
"""


def _request_ids() -> str:
    # A line that is not JSON (or lacks the keys) extracts nothing and passes unchanged.
    keys = "".join(f'      {name} = "",\n' for name in REQUEST_FIELDS)
    return f"""
  stage.json {{
    source      = "output"
    expressions = {{
{keys}    }}
  }}

  stage.structured_metadata {{
    values = {{
{keys}    }}
  }}
"""


def _server_tls() -> str:
    suites = ", ".join(_string(s) for s in CIPHER_SUITES)
    return f"""http {{
  tls {{
    cert_file        = "{TLS_DIR}/server.crt"
    key_file         = "{TLS_DIR}/server.key"
    client_ca_file   = "{METRICS_CA}"
    client_auth_type = "RequireAndVerifyClientCert"
    min_version      = "TLS12"
    cipher_suites    = [{suites}]
  }}
}}
"""


def _vault_audit(stack: str) -> str:
    """Vault's audit lines to Loki as service "vault", stream "audit": who read which
    secret (HMACs only), next to the containers' logs."""
    fields = "".join(f"      {k} = {_string(v)},\n" for k, v in AUDIT_FIELDS.items())
    kept = "".join(f'      {k} = "",\n' for k in AUDIT_FIELDS if k != "time")
    return f"""
local.file_match "vault_audit" {{
  path_targets = [{{
    "__path__" = "{VAULT_AUDIT}/*.log",
    "service"  = "vault",
    "stream"   = "audit",
    "stack"    = {_string(stack)},
  }}]
}}

loki.source.file "vault_audit" {{
  targets    = local.file_match.vault_audit.targets
  forward_to = [loki.process.vault_audit.receiver]
}}

loki.process "vault_audit" {{
  forward_to = [loki.write.loki.receiver]

  stage.json {{
    expressions = {{
{fields}    }}
  }}

  stage.structured_metadata {{
    values = {{
{kept}    }}
  }}

  stage.timestamp {{
    source = "time"
    format = "RFC3339Nano"
  }}

  stage.label_drop {{
    values = ["filename"]
  }}
}}
"""


def config_alloy(vault_audit_stack: str | None = None) -> str:
    """`vault_audit_stack`: Vault's audit log is mounted (vault.auditLogFolder), for this
    stack's label."""
    expressions = ",\n".join(f"      {k} = {_string(v)}" for k, v in EXPRESSIONS.items())
    labels = ",\n".join(f'      {k} = ""' for k in LABELS)
    return f"""// Rendered by vos-infra: container logs from the engine's files to Loki's gate.
logging {{
  level  = "info"
  format = "logfmt"
}}

{_server_tls()}
local.file_match "containers" {{
  path_targets = [{{"__path__" = "{ENGINE_LOGS}/*/*-json.log"}}]
}}

loki.source.file "containers" {{
  targets    = local.file_match.containers.targets
  forward_to = [loki.process.containers.receiver]
}}

loki.process "containers" {{
  forward_to = [loki.write.loki.receiver]

  stage.json {{
    expressions = {{
{expressions},
    }}
  }}

  stage.labels {{
    values = {{
{labels},
    }}
  }}

{_request_ids()}{"".join(_count_stages(count) for count in COUNTS)}
  stage.timestamp {{
    source = "time"
    format = "RFC3339Nano"
  }}

  stage.output {{
    source = "output"
  }}

  // The file name holds only the container id: the service label says more, and ids
  // would make a new stream for every replaced container.
  stage.label_drop {{
    values = ["filename"]
  }}
}}

{_vault_audit(vault_audit_stack) if vault_audit_stack else ""}
loki.write "loki" {{
  endpoint {{
    url = "https://{LOKI.dns_name}:{LOKI.tls_port}{PUSH_PATHS[0]}"

    tls_config {{
      ca_file     = "{TLS_DIR}/ca.crt"
      cert_file   = "{CLIENT_CERT}"
      key_file    = "{CLIENT_KEY}"
      server_name = "{LOKI.dns_name}"
      min_version = "TLS12"
    }}
  }}
}}
"""
