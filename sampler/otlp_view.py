"""A lazy view of an ExportTraceServiceRequest: its skeleton as messages, each span as its bytes.

Protobuf guarantees that an embedded message field is wire-compatible with a ``bytes`` field holding
that message's encoding. This module declares, through the official protobuf runtime (a
``FileDescriptorProto`` added to a private pool), the OTLP request with the same field numbers as
``opentelemetry/proto/trace/v1/trace.proto`` but with ``Resource``, ``InstrumentationScope`` and each
``Span`` typed as ``bytes``. Parsing a request as :class:`RequestView` (upb, in C) therefore gives
every span's encoding as one ``bytes`` object without building Python objects for its attributes;
the few spans a rule may match are then decoded with the official ``Span`` type, and a request with
stamped spans is serialized by the same runtime. No varint, tag or length is read or written here.

:class:`SpanView` reads one candidate span the same way, with its attributes declared as
``map<string, bytes>``: protobuf defines a map field as, on the wire, a repeated entry message with
the key as field 1 and the value as field 2, which is what ``repeated KeyValue`` is. The runtime
builds the map in C, so a rule's attribute is one lookup, not a walk over every KeyValue in Python.
A map keeps the last of duplicated keys where the KeyValue list keeps both: callers use the map
only for names that occur once in the span's bytes.

Every field is declared (proto2 ``optional``, so presence round-trips), in the order of the official
messages, so ``RequestView.FromString(b).SerializeToString() == b`` for any canonically encoded
request; fields added to OTLP later are kept as unknown fields.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["RequestView", "SpanView"]

_PACKAGE = "tracelock.sampler.view"
_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
_INT32 = descriptor_pb2.FieldDescriptorProto.TYPE_INT32
_FIXED64 = descriptor_pb2.FieldDescriptorProto.TYPE_FIXED64
_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED

# message -> (field name, number, label, type, message type name) as in the OTLP trace protos
_SCHEMA: dict[str, list[tuple[str, int, int, int, str]]] = {
    "RequestView": [("resource_spans", 1, _REPEATED, _MESSAGE, "ResourceSpansView")],
    "ResourceSpansView": [
        ("resource", 1, _OPTIONAL, _BYTES, ""),  # opentelemetry.proto.resource.v1.Resource
        ("scope_spans", 2, _REPEATED, _MESSAGE, "ScopeSpansView"),
        ("schema_url", 3, _OPTIONAL, _BYTES, ""),
    ],
    "ScopeSpansView": [
        ("scope", 1, _OPTIONAL, _BYTES, ""),  # opentelemetry.proto.common.v1.InstrumentationScope
        ("spans", 2, _REPEATED, _BYTES, ""),  # opentelemetry.proto.trace.v1.Span
        ("schema_url", 3, _OPTIONAL, _BYTES, ""),
    ],
    # read-only: the Span fields rules read, attributes as a map (trace_state, events, links, ... are
    # left as unknown fields); a span is re-encoded from the official Span type, never from this view
    "SpanView": [
        ("trace_id", 1, _OPTIONAL, _BYTES, ""),
        ("span_id", 2, _OPTIONAL, _BYTES, ""),
        ("parent_span_id", 4, _OPTIONAL, _BYTES, ""),
        ("name", 5, _OPTIONAL, _BYTES, ""),
        ("kind", 6, _OPTIONAL, _INT32, ""),
        ("start_time_unix_nano", 7, _OPTIONAL, _FIXED64, ""),
        ("end_time_unix_nano", 8, _OPTIONAL, _FIXED64, ""),
        ("attributes", 9, _REPEATED, _MESSAGE, "SpanView.AttributesEntry"),
        ("status", 15, _OPTIONAL, _BYTES, ""),  # opentelemetry.proto.trace.v1.Status
    ],
}
# map<string, bytes> is, on the wire, exactly ``repeated KeyValue`` (key = 1, value = 2: an AnyValue)
_MAP_ENTRIES = {"SpanView": ("AttributesEntry", _STRING, _BYTES)}


def _message_classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="tracelock/sampler/otlp_view.proto", package=_PACKAGE, syntax="proto2"
    )
    for name, fields in _SCHEMA.items():
        message = file.message_type.add(name=name)
        for field_name, number, label, kind, type_name in fields:
            field = message.field.add(name=field_name, number=number, label=label, type=kind)
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
        if name in _MAP_ENTRIES:
            entry_name, key_type, value_type = _MAP_ENTRIES[name]
            entry = message.nested_type.add(name=entry_name)
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, label=_OPTIONAL, type=key_type)
            entry.field.add(name="value", number=2, label=_OPTIONAL, type=value_type)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _SCHEMA
    }


_CLASSES = _message_classes()
RequestView: Any = _CLASSES["RequestView"]
SpanView: Any = _CLASSES["SpanView"]
