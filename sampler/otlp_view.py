"""A lazy view of an ExportTraceServiceRequest: its skeleton as messages, each span as its bytes.

Protobuf guarantees that an embedded message field is wire-compatible with a ``bytes`` field holding
that message's encoding. This module declares, through the official protobuf runtime (a
``FileDescriptorProto`` added to a private pool), the OTLP request with the same field numbers as
``opentelemetry/proto/trace/v1/trace.proto`` but with ``Resource``, ``InstrumentationScope`` and each
``Span`` typed as ``bytes``. Parsing a request as :class:`RequestView` (upb, in C) therefore gives
every span's encoding as one ``bytes`` object without building Python objects for its attributes;
the few spans a rule may match are then decoded with the official ``Span`` type, and a request with
stamped spans is serialized by the same runtime. No varint, tag or length is read or written here.

Every field is declared (proto2 ``optional``, so presence round-trips), in the order of the official
messages, so ``RequestView.FromString(b).SerializeToString() == b`` for any canonically encoded
request; fields added to OTLP later are kept as unknown fields.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["RequestView"]

_PACKAGE = "tracelock.sampler.view"
_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
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
}


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
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _SCHEMA
    }


RequestView: Any = _message_classes()["RequestView"]
