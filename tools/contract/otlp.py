"""An OTLP/gRPC trace receiver standing in for Jaeger's (no Jaeger binary runs here): the
rendered Jaeger container's server certificate and the client CA its `otlp` receiver
demands, so an app's exporter is held to what Jaeger holds it to (verified server name
`jaeger`, its own client certificate). Keeps each span with the service that sent it and
the common name of the client certificate it came with. `vos-infra contract verify` holds an
image's exporter to it; the integration tests hold the reference apps to it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
import yaml
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from components.docker.spec import TLS_DIR
from components.jaeger import files as jaeger_files
from tools.offline.rendered import RenderedContainer


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    name: str
    client: str
    """The CN of the client certificate the export came with."""


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, spans: list[Span], lock: threading.Lock) -> None:
        self.spans, self.lock = spans, lock

    def Export(
        self, request: Any, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        client = b"".join(context.auth_context().get("x509_common_name", [])).decode()
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    with self.lock:
                        self.spans.append(
                            Span(attributes.get("service.name", ""), span.trace_id.hex(),
                                 span.name, client)
                        )  # fmt: skip
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpReceiver:
    def __init__(self, jaeger: RenderedContainer, host: str = "127.0.0.1") -> None:
        """Listens on `host` (an address of this machine's), on a free port."""
        config = yaml.safe_load(jaeger.file(jaeger_files.CONFIG))
        grpc_tls = config["receivers"]["otlp"]["protocols"]["grpc"]["tls"]
        self.spans: list[Span] = []
        self._lock = threading.Lock()
        self.server = grpc.server(ThreadPoolExecutor(max_workers=4))
        # Generated gRPC code, without annotations.
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _Servicer(self.spans, self._lock), self.server
        )
        credentials = grpc.ssl_server_credentials(
            [(jaeger.file(f"{TLS_DIR}/server.key").encode(),
              jaeger.file(f"{TLS_DIR}/server.crt").encode())],
            root_certificates=jaeger.file(grpc_tls["client_ca_file"]).encode(),
            require_client_auth=True,
        )  # fmt: skip
        self.port = self.server.add_secure_port(f"{host}:0", credentials)
        self.server.start()

    def received(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def stop(self) -> None:
        self.server.stop(grace=None)
