"""How a refusal of the egress proxy becomes a number Prometheus can alert on (pure data).

Squid has no metrics endpoint, and its cache manager counts no refusals per client. Its
access log does name both (files.LOG_FORMAT: `identity="/CN=<app>..."`, `result=TCP_DENIED`),
and that log already reaches Alloy like every container's. So Alloy counts them
(components/log_counts.py): the line parsed as logfmt, the app taken from the certificate
subject into an `app` label (also a Loki label: `{service="egress-proxy", app="..."}` reads
one app's traffic), a counter increased per refusal. monitoring/prometheus/rules/egress.yml
alerts on a burst. Verified against the lines a real Squid writes
(tests/integration/test_egress_proxy.py); no Alloy binary runs here."""

from __future__ import annotations

from components.egress_proxy.definition import DEFINITION
from components.egress_proxy.files import REFUSED
from components.log_counts import Counter, Extract, LogCount

RESULT = "result"
IDENTITY = "identity"
"""logfmt keys of files.LOG_FORMAT that the count needs."""
APP = "app"
REFUSALS = Counter(
    "egress_refused_total", "Requests the egress proxy refused, per app", RESULT, REFUSED
)
COUNT = LogCount(
    service=DEFINITION.dns_name,
    parser="logfmt",
    fields=(RESULT, IDENTITY),
    # The app's DNS name from Squid's `/CN=<app>/...` subject.
    extracts=(Extract(IDENTITY, rf"CN=(?P<{APP}>[^/,]+)"),),
    labels=(APP,),
    counters=(REFUSALS,),
)
METRIC = REFUSALS.metric
