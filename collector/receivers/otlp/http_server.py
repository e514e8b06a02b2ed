"""OTLP/HTTP on Starlette + uvicorn: ``POST /v1/traces`` (and Langfuse's path), ``/v1/logs`` and
``/v1/metrics`` (receivers/otlp/logs_metrics.py), protobuf or JSON,
gzip/deflate bodies, OTLP error bodies (google.rpc.Status) and Retry-After on refusals.

Also serves ``POST /v1/feedback`` and the operations endpoints (``/healthz``, ``/readyz``, ``/metrics``).
Parsing, the WAL fsync and feedback inserts run in the thread pool, never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracelock.collector.component import TracesConsumer
from tracelock.collector.feedback import MAX_FEEDBACK_BYTES, ingest_feedback
from tracelock.collector.host import Host
from tracelock.collector.processors.memory_limiter.gate import DECODED_COST, RECEIVED_COST
from tracelock.collector.receivers.otlp.config import HttpProtocolConfig
from tracelock.collector.receivers.otlp.decode import (
    Validated,
    decode_json,
    decode_protobuf,
    decompress,
    validated_body,
)
from tracelock.collector.receivers.otlp.grpc_server import response_for
from tracelock.collector.receivers.otlp.logs_metrics import LogsAndMetrics
from tracelock.collector.serve_http import ServerThread, read_body
from tracelock.collector.status import answer_for
from tracelock.errors import InputError, UnsupportedMediaType

__all__ = ["HttpTraceServer", "feedback_route", "operations_routes"]

_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_OK_PROTOBUF = ExportTraceServiceResponse().SerializeToString()
_METRICS_PATHS = ("/v1/metrics", "/api/public/otel/v1/metrics")  # OTLP's and Langfuse's


def _error_response(exc: BaseException, content_type: str, host: Host) -> Response:
    answer = answer_for(exc)
    if answer.grpc_code is grpc.StatusCode.INVALID_ARGUMENT:
        host.metrics.bad_requests.labels("http", answer.reason).inc()
    headers = {"Retry-After": str(max(1, round(answer.retry_after)))} if answer.retry_after else {}
    status = status_pb2.Status(code=answer.grpc_code.value[0], message=answer.message)
    if content_type == _PROTOBUF:
        return Response(status.SerializeToString(), answer.http_status, headers, media_type=_PROTOBUF)
    return JSONResponse({"code": status.code, "message": status.message}, answer.http_status, headers)


class HttpTraceServer:
    def __init__(self, config: HttpProtocolConfig, host: Host, consumer: TracesConsumer) -> None:
        self.config = config
        self.host = host
        self.consumer = consumer
        self.limit = config.max_request_body_mib << 20
        self._thread: ServerThread | None = None

    def _ingest(self, body: bytes, content_type: str, encoding: str) -> Validated:
        self.consumer.wait_for_room("http")
        body = decompress(body, encoding, self.limit)
        with self.host.memory.reserve(len(body) * DECODED_COST):  # before decoding
            if content_type == _PROTOBUF:
                checked = validated_body(decode_protobuf(body), body, self.config.limits)
            else:
                checked = validated_body(decode_json(body), None, self.config.limits)
            if checked.span_count:
                self.consumer.ingest(checked.body, checked.span_count, "http")
        return checked

    async def export(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        reply_type = _PROTOBUF if content_type == _PROTOBUF else _JSON
        try:
            if content_type not in (_PROTOBUF, _JSON):
                raise InputError(
                    f"unsupported Content-Type {content_type or '(none)'!r}: use {_PROTOBUF} or {_JSON}"
                )
            body = await read_body(request, self.limit)
            encoding = request.headers.get("content-encoding", "")
            checked = await run_in_threadpool(self._ingest, body, content_type, encoding)
        except Exception as exc:
            return _error_response(exc, reply_type, self.host)
        if reply_type == _PROTOBUF:
            payload = response_for(checked).SerializeToString() if checked.rejected else _OK_PROTOBUF
            return Response(payload, 200, media_type=_PROTOBUF)
        return JSONResponse(json.loads(json_format.MessageToJson(response_for(checked))))

    def _signal_route(self, path: str, export: Callable[[bytes, str], Message]) -> Route:
        """``POST`` of another OTLP signal (logs, metrics): same body limits, errors and reply types."""

        def handle(body: bytes, content_type: str, encoding: str) -> Message:
            return export(decompress(body, encoding, self.limit), content_type)

        async def route(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            reply_type = _PROTOBUF if content_type == _PROTOBUF else _JSON
            try:
                if content_type not in (_PROTOBUF, _JSON):
                    raise InputError(f"unsupported Content-Type {content_type or '(none)'!r}")
                body = await read_body(request, self.limit)
                encoding = request.headers.get("content-encoding", "")
                answer = await run_in_threadpool(handle, body, content_type, encoding)
            except Exception as exc:
                return _error_response(exc, reply_type, self.host)
            if reply_type == _PROTOBUF:
                return Response(answer.SerializeToString(), 200, media_type=_PROTOBUF)
            return JSONResponse(json_format.MessageToDict(answer))

        return Route(path, route, methods=["POST"])

    def app(self) -> Any:
        routes = [Route(path, self.export, methods=["POST"]) for path in self.config.traces_paths]
        signals = LogsAndMetrics.of(self.host)
        routes += [
            self._signal_route("/v1/logs", signals.export_logs),
            *(self._signal_route(path, signals.export_metrics) for path in _METRICS_PATHS),
        ]
        routes += [feedback_route(self.host), *operations_routes(self.host)]
        app: Any = Starlette(routes=routes)
        from tracelock.collector.security.limits import ConcurrencyLimitMiddleware

        exports = [*self.config.traces_paths, "/v1/logs", *_METRICS_PATHS]
        body_limits = {**dict.fromkeys(exports, self.limit), "/v1/feedback": MAX_FEEDBACK_BYTES}
        app = ConcurrencyLimitMiddleware(
            app,
            self.config.limits.max_concurrent_requests,
            list(body_limits),
            body_timeout_s=self.config.body_read_timeout_s,
            max_receiving=self.config.max_receiving_requests,
            body_limit=body_limits,
            reserve_memory=lambda nbytes: self.host.memory.reserve(nbytes * RECEIVED_COST),
        )
        if self.config.auth is not None and self.config.auth.enabled:
            from tracelock.collector.security import BearerAuthMiddleware, BearerTokens

            app = BearerAuthMiddleware(
                app, BearerTokens.from_config(self.config.auth), exempt_paths=self.config.auth.exempt_paths
            )
        return app

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.config.tls is not None:
            from tracelock.collector.security import uvicorn_ssl_options

            options = uvicorn_ssl_options(self.config.tls)
        self._thread = ServerThread(
            self.app(),
            self.config.endpoint,
            "otlp-http",
            header_timeout_s=self.config.header_read_timeout_s,
            **options,
        )
        self._thread.start()

    @property
    def port(self) -> int | None:
        return self._thread.port if self._thread else None

    @property
    def url(self) -> str | None:
        return self._thread.url if self._thread else None

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


def feedback_route(host: Host) -> Route:
    """``POST /v1/feedback``: JSON only (415 otherwise, so a web page cannot post it as text/plain),
    capped in records and bytes (413), parsed and stored in a worker thread."""

    async def feedback(request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != _JSON:
                raise UnsupportedMediaType(
                    f"feedback must be sent as {_JSON}, not {content_type or '(no Content-Type)'!r}"
                )
            body = await read_body(request, MAX_FEEDBACK_BYTES)
            result = await run_in_threadpool(ingest_feedback, host.store, body)
        except Exception as exc:
            return _error_response(exc, _JSON, host)
        host.metrics.feedback_received.inc(result.accepted)
        host.metrics.feedback_unknown_trace.inc(result.unknown_trace_records)
        return JSONResponse(result.as_dict())

    return Route("/v1/feedback", feedback, methods=["POST"])


def operations_routes(host: Host) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready = host.is_ready()
        queued = host.queued_spans()
        return JSONResponse({"ready": ready, "queued_spans": queued}, 200 if ready else 503)

    async def metrics(_: Request) -> Response:
        from prometheus_client import generate_latest

        from tracelock.collector.security.registry import SECURITY_REGISTRY

        body = host.metrics.render() + generate_latest(SECURITY_REGISTRY)
        return Response(body, media_type="text/plain; version=0.0.4")

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
