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
  ``tracelock_collector_requests_refused{reason="concurrency"}``. Over HTTP a request counts only once
  its body has arrived (see :class:`ConcurrencyLimitMiddleware` for the body deadline and the cap on
  requests still sending, ``reason="body_timeout"`` / ``"receiving"``).

Metrics live in :data:`SECURITY_REGISTRY` (auth failures too), which the collector's ``/metrics`` appends.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from tracelock.collector.security.registry import SECURITY_REGISTRY
from tracelock.errors import InputError, Overloaded, PayloadTooLarge

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
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
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
    """ASGI, in front of the export routes (``paths``): a request takes an export slot only once its
    whole body has arrived.

    1. While it is still sending its body it holds one of ``max_receiving`` receiving places (beyond
       them: 503 at once), and the body must arrive within ``body_timeout_s`` in all (else 408 and the
       connection closes: this is what answers a Content-Length longer than the body) and within
       ``body_limit`` bytes (one for all paths, or per path; 413, at once when Content-Length says so).
    2. Then it takes one of ``limit`` export slots (beyond them: 503 + Retry-After) for the route's
       work, which gets the body replayed. Connections that trickle bytes cannot hold the slots.

    With ``reserve_memory`` (the memory limiter's gate) the declared body size is reserved before a
    byte is read and held until the answer (429 + Retry-After when it does not fit).
    """

    def __init__(
        self,
        app: Any,
        limit: int,
        paths: Any,
        retry_after_s: int = 1,
        *,
        body_timeout_s: float | None = None,
        max_receiving: int | None = None,
        body_limit: int | Mapping[str, int] | None = None,
        reserve_memory: Callable[[int], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.app = app
        self._limit = limit
        self._paths = frozenset(paths)
        self._in_flight = 0  # one event loop: no lock needed
        self._receiving = 0
        self._max_receiving = max_receiving
        self._body_timeout = body_timeout_s
        self._body_limits = body_limit if isinstance(body_limit, Mapping) else {}
        self._body_limit = None if isinstance(body_limit, Mapping) else body_limit
        self._retry_after = str(retry_after_s).encode()
        self._reserve_memory = reserve_memory

    async def _refuse(self, send: Any, status: int, message: str, *, close: bool = False) -> None:
        body = json.dumps({"code": 8 if status in (429, 503) else 3, "message": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status in (429, 503):
            headers.append((b"retry-after", self._retry_after))
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, receive: Any, limit: int | None) -> bytes | None:
        """The whole body; None when the client went away. Raises TimeoutError and PayloadTooLarge."""
        loop = asyncio.get_running_loop()
        deadline = None if self._body_timeout is None else loop.time() + self._body_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            wait = None if deadline is None else deadline - loop.time()
            if wait is not None and wait <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(receive(), wait)
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") not in self._paths:
            await self.app(scope, receive, send)
            return
        if self._max_receiving is not None and self._receiving >= self._max_receiving:
            REQUESTS_REFUSED.labels("http", "receiving").inc()
            await self._refuse(send, 503, "too many requests still sending their bodies; retry later")
            return
        limit = self._body_limits.get(scope["path"], self._body_limit)
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if limit is not None and declared.isdigit() and int(declared) > limit:
            message = f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes"
            await self._refuse(send, 413, message)  # uvicorn discards the body as it arrives
            return
        if self._reserve_memory is None:
            await self._receive_and_run(scope, receive, send, limit)
            return
        # the memory limiter counts the body's bytes from before it is read until it is answered
        try:
            reservation = self._reserve_memory(int(declared) if declared.isdigit() else limit or 0)
            reservation.__enter__()
        except Overloaded as exc:
            REQUESTS_REFUSED.labels("http", "memory").inc()
            await self._refuse(send, 429, str(exc))
            return
        try:
            await self._receive_and_run(scope, receive, send, limit)
        finally:
            reservation.__exit__(None, None, None)

    async def _receive_and_run(self, scope: Any, receive: Any, send: Any, limit: int | None) -> None:
        self._receiving += 1
        try:
            body = await self._read_body(receive, limit)
        except TimeoutError:
            REQUESTS_REFUSED.labels("http", "body_timeout").inc()
            message = f"request body not received within {self._body_timeout:g} s"
            await self._refuse(send, 408, message, close=True)
            return
        except PayloadTooLarge as exc:
            await self._refuse(send, 413, str(exc))
            return
        finally:
            self._receiving -= 1
        if body is None:
            return
        if self._in_flight >= self._limit:
            REQUESTS_REFUSED.labels("http", "concurrency").inc()
            await self._refuse(send, 503, "too many concurrent exports; retry later")
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        self._in_flight += 1
        try:
            await self.app(scope, replay, send)
        finally:
            self._in_flight -= 1
