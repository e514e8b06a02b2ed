"""Build OTLP trace requests from plain data: for tests, the benchmark and demos of the rules.

request = build_request([SpanSpec("a" * 32, "b" * 16, attributes={"tracelock.retrieval.empty": True})])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

__all__ = ["SpanSpec", "build_request", "key_values", "to_any_value"]


@dataclass
class SpanSpec:
    trace_id: str
    span_id: str
    parent_span_id: str = ""
    name: str = "chat"
    start_ns: int = 1_700_000_000_000_000_000
    duration_ns: int = 1_000_000
    attributes: Mapping[str, Any] = field(default_factory=dict)
    status_code: int = 0
    kind: int = 1


def to_any_value(value: Any) -> AnyValue:
    """A Python scalar as an OTLP AnyValue (bool, int, float; anything else as its text)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=to_any_value(v)) for k, v in attributes.items()]


def build_request(
    spans: Sequence[SpanSpec], resource: Mapping[str, Any] | None = None
) -> ExportTraceServiceRequest:
    """One ResourceSpans (``resource`` attributes, service.name defaulting to 'app') with every span."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": "app", **(resource or {})}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tracelock.tests"
    for spec in spans:
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(spec.trace_id)
        span.span_id = bytes.fromhex(spec.span_id)
        if spec.parent_span_id:
            span.parent_span_id = bytes.fromhex(spec.parent_span_id)
        span.name = spec.name
        span.kind = Span.SpanKind.ValueType(spec.kind)
        span.start_time_unix_nano = spec.start_ns
        span.end_time_unix_nano = spec.start_ns + spec.duration_ns
        span.status.code = Status.StatusCode.ValueType(spec.status_code)
        span.attributes.extend(key_values(spec.attributes))
    return request
