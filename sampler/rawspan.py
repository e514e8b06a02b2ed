"""Read the few things span rules need straight from a Span's protobuf bytes.

Decoding a whole Span into upb objects and walking its attributes costs ~20 us in CPython, nearly all
of it creating Python objects for attributes no rule reads. This reader walks the encoding once, keeps
the attribute keys as bytes, and turns into Python values only the attributes asked for (canonical names
and their aliases), plus the handful of span fields rules can read. Anything unusual (an array or map
value, a long varint) falls back to the protobuf decoder for that one value.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

__all__ = ["UNKNOWN", "RawSpan", "Wanted", "attribute_at", "read_ids", "read_resource", "read_span"]

_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_EVAL_PREFIX = b"tracelock.eval."
_LABEL_PREFIX = b"tracelock.label."
_SPECIAL = (_EVAL_PREFIX, _LABEL_PREFIX)


UNKNOWN = object()  # attribute_at could not be sure


@dataclass(frozen=True, slots=True)
class Wanted:
    """A source attribute name to read: its canonical name, precedence (lower wins) and converter."""

    canonical: str
    rank: int
    convert: Callable[[Any], Any] | None = None


@dataclass(slots=True)
class RawSpan:
    trace_id: bytes
    span_id: bytes
    has_parent: bool
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    has_eval_key: bool


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _any_value(buf: bytes, start: int, end: int) -> Any:
    """An AnyValue payload as a Python scalar (strings, bools, ints, doubles inline; the rest via upb)."""
    if start == end:
        return ""
    tag = buf[start]
    if tag == 0x0A:
        length, pos = _varint(buf, start + 1)
        return buf[pos : pos + length].decode("utf-8", "replace")
    if tag == 0x10:
        return _varint(buf, start + 1)[0] != 0
    if tag == 0x18:
        value = _varint(buf, start + 1)[0]
        return value - (1 << 64) if value >= 1 << 63 else value
    if tag == 0x21:
        return _DOUBLE.unpack_from(buf, start + 1)[0]
    value = AnyValue.FromString(buf[start:end])
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


def _skip(buf: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 5:
        return pos + 4
    if wire == 2:
        length, pos = _varint(buf, pos)
        return pos + length
    raise ValueError(f"unsupported wire type {wire}")


def _key_value(buf: bytes, start: int, end: int) -> tuple[bytes, int, int]:
    """(key bytes, value payload start, value payload end) of a KeyValue payload."""
    key = b""
    v_start = v_end = end
    pos = start
    while pos < end:
        tag = buf[pos]
        if tag == 0x0A:
            length, pos = _varint(buf, pos + 1)
            key = buf[pos : pos + length]
            pos += length
        elif tag == 0x12:
            length, pos = _varint(buf, pos + 1)
            v_start, v_end = pos, pos + length
            pos += length
        else:
            tag_value, pos = _varint(buf, pos)
            pos = _skip(buf, pos, tag_value & 7)
    return key, v_start, v_end


def _attribute(
    buf: bytes, pos: int, length: int, wanted: Mapping[bytes, Wanted], labels: bool,
    out: dict[str, Any], ranks: dict[str, int],
) -> bool:  # fmt: skip
    """Read one KeyValue into ``out`` if wanted; return whether its key is a tracelock.eval.* key."""
    key, v_start, v_end = _key_value(buf, pos, pos + length)
    spec = wanted.get(key)
    if spec is None:
        if key.startswith(_LABEL_PREFIX) and labels:
            out[key.decode("utf-8", "replace")] = _any_value(buf, v_start, v_end)
            return False
        return key.startswith(_EVAL_PREFIX)
    previous = ranks.get(spec.canonical)
    if previous is not None and previous <= spec.rank:
        return False
    value = _any_value(buf, v_start, v_end)
    if spec.convert is not None:
        value = spec.convert(value)
        if value is None:
            return False
    out[spec.canonical] = value
    ranks[spec.canonical] = spec.rank
    return key.startswith(_EVAL_PREFIX)


def read_span(buf: bytes, start: int, end: int, wanted: Mapping[bytes, Wanted], labels: bool) -> RawSpan:
    """The span fields rules read and the ``wanted`` attributes of the Span encoded in ``buf[start:end]``."""
    trace_id = span_id = b""
    has_parent = False
    name = ""
    kind = status = 0
    start_ns = end_ns = 0
    attrs: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    has_eval = False
    pos = start
    while pos < end:
        tag = buf[pos]
        if tag == 0x4A:  # attributes: the common case first
            b0 = buf[pos + 1]
            if b0 < 0x80:
                length, pos = b0, pos + 2
            else:
                length, pos = _varint(buf, pos + 1)
            if buf[pos] == 0x0A and buf[pos + 1] < 0x80:  # key first, short: skip unwanted keys cheaply
                key = buf[pos + 2 : pos + 2 + buf[pos + 1]]
                if (key in wanted or key.startswith(_SPECIAL)) and _attribute(
                    buf, pos, length, wanted, labels, attrs, ranks
                ):
                    has_eval = True
            elif _attribute(buf, pos, length, wanted, labels, attrs, ranks):
                has_eval = True
            pos += length
        elif tag in (0x0A, 0x12, 0x22, 0x2A, 0x7A):
            length, p = _varint(buf, pos + 1)
            value = buf[p : p + length]
            if tag == 0x0A:
                trace_id = value
            elif tag == 0x12:
                span_id = value
            elif tag == 0x22:
                has_parent = length > 0
            elif tag == 0x2A:
                name = value.decode("utf-8", "replace")
            else:
                status = _status_code(value)
            pos = p + length
        elif tag == 0x30:
            kind, pos = _varint(buf, pos + 1)
        elif tag == 0x39:
            start_ns = _FIXED64.unpack_from(buf, pos + 1)[0]
            pos += 9
        elif tag == 0x41:
            end_ns = _FIXED64.unpack_from(buf, pos + 1)[0]
            pos += 9
        else:
            tag_value, pos = _varint(buf, pos)
            pos = _skip(buf, pos, tag_value & 7)
    return RawSpan(trace_id, span_id, has_parent, name, kind, start_ns, end_ns, status, attrs, has_eval)


def read_resource(
    buf: bytes, start: int, end: int, wanted: Mapping[bytes, Wanted], labels: bool
) -> dict[str, Any]:
    """The ``wanted`` attributes of the Resource encoded in ``buf[start:end]`` (attributes are field 1)."""
    attrs: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    pos = start
    while pos < end:
        tag = buf[pos]
        if tag == 0x0A:
            length, pos = _varint(buf, pos + 1)
            _attribute(buf, pos, length, wanted, labels, attrs, ranks)
            pos += length
        else:
            tag_value, pos = _varint(buf, pos)
            pos = _skip(buf, pos, tag_value & 7)
    return attrs


def _status_code(payload: bytes) -> int:
    pos = 0
    while pos < len(payload):
        tag = payload[pos]
        if tag == 0x18:
            return _varint(payload, pos + 1)[0]
        tag_value, pos = _varint(payload, pos)
        pos = _skip(payload, pos, tag_value & 7)
    return 0


def attribute_at(buf: bytes, pos: int, name: bytes, limit: int) -> Any:
    """The value of the span attribute whose key ``name`` starts at ``buf[pos]``, or :data:`UNKNOWN`.

    Checks the bytes around ``pos`` are a Span attribute (field 9) KeyValue with exactly this key and a
    value ending where the KeyValue ends (before ``limit``); an event's or link's attribute, or the name
    inside some string, gives UNKNOWN.
    """
    size = len(name)
    if size >= 0x80 or pos < 4 or buf[pos - 1] != size or buf[pos - 2] != 0x0A:
        return UNKNOWN
    kv_start = pos - 2
    if buf[kv_start - 2] == 0x4A and buf[kv_start - 1] < 0x80:
        kv_end = kv_start + buf[kv_start - 1]
    elif (
        kv_start >= 3 and buf[kv_start - 3] == 0x4A and buf[kv_start - 2] >= 0x80 and buf[kv_start - 1] < 0x80
    ):
        kv_end = kv_start + ((buf[kv_start - 2] & 0x7F) | (buf[kv_start - 1] << 7))
    else:
        return UNKNOWN
    p = pos + size
    if kv_end > limit or p >= kv_end or buf[p] != 0x12:
        return UNKNOWN
    length, p = _varint(buf, p + 1)
    if p + length != kv_end:
        return UNKNOWN
    return _any_value(buf, p, kv_end)


def read_ids(buf: bytes, start: int, end: int) -> tuple[bytes, bytes]:
    """(trace_id, span_id) of the Span in ``buf[start:end]``: its first two fields, read without a walk."""
    trace_id = span_id = b""
    pos = start
    while pos < end and not (trace_id and span_id):
        tag = buf[pos]
        tag_value, pos = _varint(buf, pos)
        if tag in (0x0A, 0x12):
            length, pos = _varint(buf, pos)
            if tag == 0x0A:
                trace_id = buf[pos : pos + length]
            else:
                span_id = buf[pos : pos + length]
            pos += length
        else:
            pos = _skip(buf, pos, tag_value & 7)
    return trace_id, span_id
