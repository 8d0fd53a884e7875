"""The edge's access log, pure: one JSON object per request on stdout (so Loki, through
Alloy), carrying what ties a request together end to end.

- `request_id`: the caller's X-Request-ID when it is a plain token, else one nginx made;
  the gateway gets it and answers with it (files.py), the apps log it and copy it into
  AMQP headers (the app contract).
- `trace_id`: from a W3C `traceparent` header when well-formed (version not ff, trace id not
  all zeros), else empty; Grafana links it to Jaeger (components/grafana/datasources.py).
- status, bytes, durations (the edge's and the gateway's), the client address (after the
  real-IP module when load balancers are trusted), method and path; never the query string
  (tokens travel there) nor headers.
`escape=json` makes every value a valid JSON string whatever the client sent."""

from __future__ import annotations

from components.app.contract import REQUEST_ID_FIELD, TRACE_ID_FIELD
from components.edge.definition import DEFINITION
from components.log_counts import Counter, Extract, LogCount

FIELDS = (
    ("time", '"$time_iso8601"'),
    ("client", '"$remote_addr"'),
    ("method", '"$request_method"'),
    ("path", '"$uri"'),
    ("status", "$status"),
    ("bytes", "$body_bytes_sent"),
    ("duration_s", "$request_time"),
    ("upstream_s", '"$upstream_response_time"'),
    (REQUEST_ID_FIELD, '"$vos_request_id"'),
    (TRACE_ID_FIELD, '"$vos_trace_id"'),
)
"""JSON key -> nginx value: numbers bare (always digits), everything else quoted."""
TRACEPARENT = r"^(?!ff)[0-9a-f]{2}-(?!0{32})(?<vos_trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}"
"""W3C Trace Context `traceparent`: version-traceid-parentid-flags, lower-case hex; version
ff and an all-zero trace id are invalid."""


STATUS = "status"
SERVER_ERROR = "server_error"
COUNT = LogCount(
    service=DEFINITION.dns_name,
    parser="json",
    fields=(STATUS,),
    extracts=(Extract(STATUS, rf"^(?P<{SERVER_ERROR}>5)[0-9][0-9]$"),),
    counters=(
        Counter("edge_requests_total", "Requests the edge answered"),
        Counter("edge_rate_limited_total", "Requests the edge refused with 429", STATUS, "429"),
        Counter(
            "edge_server_errors_total",
            "Answers with a 5xx status (the edge's own or the gateway's)",
            SERVER_ERROR,
            "5",
        ),
    ),
)
"""What Alloy counts from these lines (components/log_counts.py): the edge's answers, its
429s and its 5xx, for the alerts of monitoring/prometheus/rules/edge.yml. The health
check's requests are not logged, so not counted."""


def http_lines() -> list[str]:
    body = ",".join(f'"{key}":{value}' for key, value in FIELDS)
    return [
        "  # One JSON line per request (components/edge/access_log.py).",
        f"  log_format edge escape=json '{{{body}}}';",
        "  access_log /dev/stdout edge;",
        "  map $http_traceparent $vos_trace_id {",
        '    default "";',
        f'    "~{TRACEPARENT}" $vos_trace;',
        "  }",
    ]
