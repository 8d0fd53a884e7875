"""Per-route rate limits at the edge, pure: a path prefix gets its own limit per client
address on top of the overall one (the gateway's login routes by default: guessing
passwords is the attack a global limit lets through).

Each route is an nginx `limit_req_zone` and a prefix `location` (the longest prefix wins,
as nginx picks it), answering 429 with a Retry-After that fits its rate."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from stacks.edge_settings import RouteLimit


def zone(index: int) -> str:
    return f"route_{index}"


def limit(index: int, route: RouteLimit) -> str:
    # nginx refuses `burst=0` (its default): only a positive burst is written.
    burst = f" burst={route.burst} nodelay" if route.burst else ""
    return f"limit_req zone={zone(index)}{burst};"


def retry_after_seconds(rate: str) -> int:
    """How long until the bucket lets one more request in: 1 s at N r/s, 60/N s at N r/m."""
    count, unit = rate.removesuffix("r/s").removesuffix("r/m"), rate[-1]
    return 1 if unit == "s" else max(1, math.ceil(60 / int(count)))


def http_lines(routes: Sequence[RouteLimit]) -> list[str]:
    """Each route's zone, and Retry-After per request path (longest prefix first, as the
    locations match)."""
    by_length = sorted(enumerate(routes), key=lambda pair: -len(pair[1].path))
    return [
        *(
            f"  limit_req_zone $binary_remote_addr zone={zone(i)}:10m rate={route.rate};"
            for i, route in enumerate(routes)
        ),
        "  map $uri $vos_retry_after {",
        "    default 1;",
        *(
            f'    "~^{re.escape(route.path)}" {retry_after_seconds(route.rate)};'
            for _, route in by_length
        ),
        "  }",
    ]
