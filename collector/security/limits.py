"""Per-request limits the receivers enforce after decoding, and concurrency limits in front of them.

- ``max_spans_per_request``: a bigger request is refused (400 / INVALID_ARGUMENT, naming both numbers);
  the OTel SDK's BatchSpanProcessor sends 512 by default, so this only stops abuse.
- ``max_attributes_per_span``: extra attributes are dropped, as the OTel SDK's span limits do, and added
  to the span's ``dropped_attributes_count``; counted in ``tracelock_collector_attributes_dropped``.
- ``max_attribute_value_chars``: longer string values are truncated (never the span dropped); counted in
  ``tracelock_collector_attribute_values_truncated``. Only spans whose encoded size exceeds the limit are
  scanned, so the common case costs one ``ByteSize()`` call per span.
- ``max_concurrent_requests``: requests beyond it are answered at once with the retryable refusal
  (RESOURCE_EXHAUSTED / 503 + Retry-After) instead of queueing in memory; counted in
  ``tracelock_collector_requests_refused{reason="concurrency"}``.

Metrics live in :data:`SECURITY_REGISTRY` (auth failures too), which the collector's ``/metrics`` appends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from tracelock.collector.security.registry import SECURITY_REGISTRY
from tracelock.errors import InputError

__all__ = [
    "ATTRIBUTES_DROPPED",
    "REQUESTS_REFUSED",
    "VALUES_TRUNCATED",
    "ConcurrencyLimitMiddleware",
    "GrpcConcurrencyInterceptor",
    "RequestLimits",
    "apply_limits",
]

ATTRIBUTES_DROPPED = Counter(
    "tracelock_collector_attributes_dropped",
    "Span attributes dropped over max_attributes_per_span.",
    registry=SECURITY_REGISTRY,
)
VALUES_TRUNCATED = Counter(
    "tracelock_collector_attribute_values_truncated",
    "String attribute values truncated to max_attribute_value_chars.",
    registry=SECURITY_REGISTRY,
)
REQUESTS_REFUSED = Counter(
    "tracelock_collector_requests_refused",
    "Requests refused by a limit before any span was read.",
    ["transport", "reason"],
    registry=SECURITY_REGISTRY,
)


class RequestLimits(BaseModel):
    """The ``limits:`` section of a receiver protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_spans_per_request: int = Field(50_000, ge=1)
    max_attributes_per_span: int = Field(256, ge=1)
    max_attribute_value_chars: int = Field(65_536, ge=16)
    max_concurrent_requests: int = Field(64, ge=1)


def _truncate_values(attributes: Any, limit: int) -> int:
    truncated = 0
    for attribute in attributes:
        value = attribute.value
        kind = value.WhichOneof("value")
        if kind == "string_value" and len(value.string_value) > limit:
            value.string_value = value.string_value[:limit]
            truncated += 1
        elif kind == "array_value":
            for item in value.array_value.values:
                if item.WhichOneof("value") == "string_value" and len(item.string_value) > limit:
                    item.string_value = item.string_value[:limit]
                    truncated += 1
    return truncated


def apply_limits(request: ExportTraceServiceRequest, span_count: int, limits: RequestLimits) -> bool:
    """Enforce ``limits`` on a decoded request in place; True when it was changed (re-serialize it).

    Raises InputError when the request has more spans than allowed.
    """
    if span_count > limits.max_spans_per_request:
        raise InputError(
            f"request has {span_count} spans, limit is {limits.max_spans_per_request}: send smaller batches"
        )
    max_attrs, max_chars = limits.max_attributes_per_span, limits.max_attribute_value_chars
    dropped = truncated = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                extra = len(span.attributes) - max_attrs
                if extra > 0:
                    del span.attributes[max_attrs:]
                    span.dropped_attributes_count += extra
                    dropped += extra
                if span.ByteSize() > max_chars:
                    truncated += _truncate_values(span.attributes, max_chars)
                    for event in span.events:
                        truncated += _truncate_values(event.attributes, max_chars)
    if dropped:
        ATTRIBUTES_DROPPED.inc(dropped)
    if truncated:
        VALUES_TRUNCATED.inc(truncated)
    return bool(dropped or truncated)


class GrpcConcurrencyInterceptor(grpc.ServerInterceptor):
    """Answers RESOURCE_EXHAUSTED (with ``retry-after``) when ``limit`` calls are already running."""

    def __init__(self, limit: int, retry_after_s: int = 1) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._retry_after = str(retry_after_s)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner, slots, retry_after = handler.unary_unary, self._slots, self._retry_after

        def limited(request: Any, context: grpc.ServicerContext) -> Any:
            if not slots.acquire(blocking=False):
                REQUESTS_REFUSED.labels("grpc", "concurrency").inc()
                context.set_trailing_metadata((("retry-after", retry_after),))
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many concurrent exports; retry later")
            try:
                return inner(request, context)
            finally:
                slots.release()

        return grpc.unary_unary_rpc_method_handler(
            limited,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ConcurrencyLimitMiddleware:
    """ASGI: beyond ``limit`` requests in flight on ``paths``, answer 503 + Retry-After at once."""

    def __init__(self, app: Any, limit: int, paths: Any, retry_after_s: int = 1) -> None:
        self.app = app
        self._limit = limit
        self._paths = frozenset(paths)
        self._in_flight = 0
        self._retry_after = str(retry_after_s).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") not in self._paths:
            await self.app(scope, receive, send)
            return
        if self._in_flight >= self._limit:  # one event loop: no lock needed
            REQUESTS_REFUSED.labels("http", "concurrency").inc()
            body = json.dumps({"code": 8, "message": "too many concurrent exports; retry later"}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", self._retry_after),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self._in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight -= 1
