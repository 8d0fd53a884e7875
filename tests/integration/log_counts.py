"""A declared log count (components/log_counts.py) applied to a real server's log lines, as
Alloy's stages apply it (stage.logfmt / stage.json, stage.regex, stage.labels,
stage.metrics counter with source/value or match_all): no Alloy binary runs here, so this is
how the declaration's field names and expressions meet what the server really writes."""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter as Tally
from collections.abc import Iterable

from components.log_counts import LogCount


def _parsed(count: LogCount, line: str) -> dict[str, str]:
    if count.parser is None:  # the line itself, as Docker's record carried it
        return {"output": line}
    if count.parser == "json":
        record = json.loads(line)
        # Alloy turns extracted numbers into their shortest decimal text (429, not 429.0).
        return {k: str(v) for k, v in record.items() if k in count.fields}
    fields = dict(token.partition("=")[::2] for token in shlex.split(line))
    return {k: v for k, v in fields.items() if k in count.fields}


def tally(
    count: LogCount, lines: Iterable[str], stream: str = "stdout"
) -> Tally[tuple[str, tuple[str, ...]]]:
    """(metric, label values in `count.labels` order) -> how much each counter went up, for
    lines of one stream of the service's log (the selector takes only `count.stream`)."""
    result: Tally[tuple[str, tuple[str, ...]]] = Tally()
    if stream != count.stream:
        return result
    for line in lines:
        if count.line_filter and not re.search(count.line_filter, line):
            continue
        extracted = _parsed(count, line)
        for extract in count.extracts:
            found = re.search(extract.expression, extracted.get(extract.source, ""))
            extracted |= {k: v for k, v in (found.groupdict() if found else {}).items() if v}
        labels = tuple(extracted.get(name, "") for name in count.labels)
        for counter in count.counters:
            if counter.source is None or extracted.get(counter.source) == counter.value:
                result[(counter.metric, labels)] += 1
    return result
