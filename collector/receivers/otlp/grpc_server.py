"""OTLP/gRPC ``TraceService/Export`` on grpcio, taking the request as raw bytes (parsed once, by us).

The Logs and Metrics services are registered beside it (receivers/otlp/logs_metrics.py)."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracelock.collector.component import TracesConsumer
from tracelock.collector.host import Host
from tracelock.collector.processors.memory_limiter.gate import DECODED_COST
from tracelock.collector.receivers.otlp.config import GrpcProtocolConfig
from tracelock.collector.receivers.otlp.decode import Validated, decode_protobuf, validated_body
from tracelock.collector.receivers.otlp.logs_metrics import LogsAndMetrics
from tracelock.collector.status import answer_for

__all__ = ["GrpcTraceServer"]

_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_OK = ExportTraceServiceResponse().SerializeToString()


def response_for(checked: Validated) -> ExportTraceServiceResponse:
    """The OTLP answer: empty on full success, ``partial_success`` when spans were rejected."""
    response = ExportTraceServiceResponse()
    if checked.rejected:
        response.partial_success.rejected_spans = checked.rejected
        response.partial_success.error_message = checked.message
    return response


class GrpcTraceServer:
    def __init__(self, config: GrpcProtocolConfig, host: Host, consumer: TracesConsumer) -> None:
        self.config = config
        self.host = host
        self.consumer = consumer
        self.port: int | None = None
        self._server: grpc.Server | None = None

    def _export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            self.consumer.wait_for_room("grpc", context.time_remaining())
            with self.host.memory.reserve(len(body) * (1 + DECODED_COST)):  # before decoding
                checked = validated_body(decode_protobuf(body), body, self.config.limits)
                if checked.span_count:
                    self.consumer.ingest(checked.body, checked.span_count, "grpc")
            if checked.rejected:
                return response_for(checked).SerializeToString()
            return _OK
        except Exception as exc:  # every failure becomes one OTLP status; the server keeps serving
            self._abort(exc, context)
            raise  # unreachable: abort raises

    def _abort(self, exc: BaseException, context: grpc.ServicerContext) -> None:
        answer = answer_for(exc)
        if answer.http_status == 400:
            self.host.metrics.bad_requests.labels("grpc", answer.reason).inc()
        if answer.retry_after is not None:
            context.set_trailing_metadata((("retry-after", str(int(answer.retry_after))),))
        context.abort(answer.grpc_code, answer.message)

    def start(self) -> None:
        limit = self.config.max_recv_msg_size_mib << 20
        from tracelock.collector.security.limits import GrpcConcurrencyInterceptor

        interceptors: list[Any] = [GrpcConcurrencyInterceptor(self.config.limits.max_concurrent_requests)]
        if self.config.auth is not None and self.config.auth.enabled:
            from tracelock.collector.security import BearerTokens, GrpcBearerAuthInterceptor

            interceptors.append(GrpcBearerAuthInterceptor(BearerTokens.from_config(self.config.auth)))
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.config.max_workers, thread_name_prefix="otlp-grpc"),
            interceptors=interceptors,
            options=[("grpc.max_receive_message_length", limit), ("grpc.so_reuseport", 0)],
        )
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self._export, request_deserializer=None, response_serializer=None
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(_SERVICE, {"Export": handler}),)
        )
        server.add_generic_rpc_handlers(tuple(LogsAndMetrics.of(self.host).grpc_handlers(self._abort)))
        try:
            if self.config.tls is not None:
                from tracelock.collector.security import grpc_server_credentials

                credentials = grpc_server_credentials(self.config.tls)
                self.port = server.add_secure_port(self.config.endpoint, credentials)
            else:
                self.port = server.add_insecure_port(self.config.endpoint)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {self.config.endpoint} (OTLP/gRPC): address in use?") from exc
        if not self.port:
            raise OSError(f"cannot listen on {self.config.endpoint} (gRPC)")
        server.start()
        self._server = server

    def shutdown(self, grace: float = 5.0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None
