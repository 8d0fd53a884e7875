"""How a refusal of the egress proxy becomes a number Prometheus can alert on (pure data).

Squid has no metrics endpoint, and its cache manager counts no refusals per client. Its
access log does name both (files.LOG_FORMAT: `identity="/CN=<app>..."`, `result=TCP_DENIED`),
and that log already reaches Alloy like every container's. So Alloy counts them: for the
proxy's stream it parses the line as logfmt, takes the app from the certificate subject
into an `app` label (also a Loki label: `{service="egress-proxy", app="..."}` reads one
app's traffic) and increments a counter when `result` is a refusal (components/alloy/files.py;
Alloy's loki.process stage.logfmt, stage.regex, stage.labels, stage.metrics). Prometheus
scrapes Alloy with the scrape identity; monitoring/prometheus/rules/egress.yml alerts on a
burst. Verified against the lines a real Squid writes (tests/integration/test_egress_proxy.py);
no Alloy binary runs here."""

from __future__ import annotations

RESULT = "result"
IDENTITY = "identity"
"""logfmt keys of files.LOG_FORMAT that the count needs."""
APP = "app"
APP_FROM_IDENTITY = rf"CN=(?P<{APP}>[^/,]+)"
"""RE2 and Python alike: the app's DNS name from Squid's `/CN=<app>/...` subject."""
PREFIX = "vos_"
NAME = "egress_refused_total"
METRIC = PREFIX + NAME
"""What Alloy's /metrics exposes: labels service, stack, stream and app."""
IDLE = "1h"
"""A series unchanged this long leaves /metrics (Alloy's default, 5m, would drop a quiet
app's counter between two bursts and make the second look like a reset)."""
