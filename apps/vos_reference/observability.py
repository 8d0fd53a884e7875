"""The contract's metric families, JSON log lines carrying the request and trace ids, and
OpenTelemetry tracing (exported over OTLP with the app's client certificate when the
platform gives an endpoint; W3C trace context either way, so a trace crosses HTTP and AMQP).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REGISTRY = CollectorRegistry()
"""Only the contract's families (and process metrics) are served."""
HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTPS requests served",
    ["http_request_method", "http_route", "http_response_status_code"],
    registry=REGISTRY,
)
INFO = Gauge("vos_app_info", "Where this replica runs", ["node", "task"], registry=REGISTRY)
TASKS = Counter("vos_agent_tasks", "Tasks finished", ["outcome"], registry=REGISTRY)
BUSY = Gauge("vos_agent_busy", "1 while a task is in progress", registry=REGISTRY)
LLM_DURATION = Histogram(
    "vos_agent_llm_call_duration_seconds", "Calls to a language model", ["model"],
    registry=REGISTRY,
)  # fmt: skip
TOOLS = Counter("vos_agent_tool_executions", "Tool calls", ["tool", "outcome"], registry=REGISTRY)
AGENT_FAMILIES = (TASKS, BUSY, LLM_DURATION, TOOLS)
OUTCOMES = ("success", "error")
"""The contract's `outcome` values."""


def trace_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


class JsonLines(logging.Formatter):
    """One JSON object per line with the contract's keys (request_id, trace_id)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
            "trace_id": trace_id(),
        }
        line |= getattr(record, "fields", {})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def setup(service: str) -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        # Reads OTEL_EXPORTER_OTLP_{ENDPOINT,CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY}.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return logging.getLogger(service)
