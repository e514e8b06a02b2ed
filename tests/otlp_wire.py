"""Hostile OTLP wire forms built with the protobuf runtime, not by hand: a message class whose fields
have the numbers of the official OTLP messages but other types (``start_time_unix_nano`` as a varint,
``bool_value`` as a uint64 holding 5, a span as ``bytes``), so that a test can send exactly the bytes
an attacker would. Concatenating two encodings of one message is, on the wire, that message with every
field sent twice (protobuf merges them), which is how the duplicated-field cases are made.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["BYTES", "VARINT", "hostile", "request_of_span_bytes", "span"]

_T = descriptor_pb2.FieldDescriptorProto
VARINT, BYTES = _T.TYPE_UINT64, _T.TYPE_BYTES


@cache
def _message(fields: tuple[tuple[str, int, int, bool], ...]) -> Any:
    name = f"Hostile{abs(hash(fields)):x}"
    file = descriptor_pb2.FileDescriptorProto(name=f"{name}.proto", package="hostile", syntax="proto2")
    message = file.message_type.add(name=name)
    for field_name, number, kind, repeated in fields:
        label = _T.LABEL_REPEATED if repeated else _T.LABEL_OPTIONAL
        message.field.add(name=field_name, number=number, label=label, type=kind)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"hostile.{name}"))


def hostile(**fields: tuple[int, int, Any]) -> bytes:
    """One message: ``name=(field number, VARINT or BYTES, value)``; a list value makes it repeated."""
    shape = tuple(
        (name, number, kind, isinstance(value, list))
        for name, (number, kind, value) in sorted(fields.items())
    )
    cls = _message(shape)
    return bytes(cls(**{name: value for name, (_, _, value) in fields.items()}).SerializeToString())


def request_of_span_bytes(spans: list[bytes], service: str) -> bytes:
    """An ExportTraceServiceRequest with one resource (``service.name``) whose spans are these bytes."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = service
    scope_spans = hostile(spans=(2, BYTES, spans))  # ScopeSpans.spans = 2
    resource_spans = rs.SerializeToString() + hostile(scope_spans=(2, BYTES, [scope_spans]))
    return hostile(resource_spans=(1, BYTES, [resource_spans]))


def span(trace_id: bytes, span_id: bytes, name: str = "s") -> bytes:
    return Span(
        trace_id=trace_id, span_id=span_id, name=name, start_time_unix_nano=1_700_000_000_000_000_000
    ).SerializeToString()
