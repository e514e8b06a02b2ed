"""Find spans inside serialized OTLP trace requests without decoding them.

Decoding a whole ExportTraceServiceRequest into Python objects costs ~8 us per span, more than the
sampler's budget. Most requests carry none of the attributes a span rule needs, and a ``bytes``
search for those attribute names (they appear verbatim in the encoding) clears them at memchr speed.
For the rest, this scanner reads only the protobuf tags and lengths of the three nesting levels
(ResourceSpans -> ScopeSpans -> Span) to get each span's byte range, so only the spans around a hit
are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ResourceRange", "SpanRange", "replace_spans", "scan_request"]


@dataclass(frozen=True, slots=True)
class SpanRange:
    """A span's encoded bytes ``[start, end)``, and where it sits in the request."""

    start: int
    end: int
    resource_index: int
    scope_index: int
    span_index: int
    scope: tuple[int, int]  # the enclosing ScopeSpans payload


@dataclass(frozen=True, slots=True)
class ResourceRange:
    """A ResourceSpans message: its byte range, its Resource's range (or None) and its spans."""

    start: int
    end: int
    resource: tuple[int, int] | None
    spans: list[SpanRange]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, value start, value end) of the length-delimited fields in ``buf[start:end]``."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        wire = tag & 7
        if wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError("length beyond message end")
            yield tag >> 3, pos, pos + length
            pos += length
        elif wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _span_ranges(buf: bytes, start: int, end: int, r_index: int, s_index: int) -> list[SpanRange]:
    """Spans (field 2) of one ScopeSpans payload. The hot loop: one-byte tags and short lengths inline."""
    spans: list[SpanRange] = []
    scope = (start, end)
    pos = start
    index = 0
    while pos < end:
        tag = buf[pos]
        if tag == 0x12:  # spans, length-delimited
            b0 = buf[pos + 1]
            if b0 < 0x80:
                length, pos = b0, pos + 2
            else:
                b1 = buf[pos + 2]
                if b1 < 0x80:
                    length, pos = (b0 & 0x7F) | (b1 << 7), pos + 3
                else:
                    length, pos = _varint(buf, pos + 1)
            if pos + length > end:
                raise ValueError("length beyond message end")
            spans.append(SpanRange(pos, pos + length, r_index, s_index, index, scope))
            index += 1
            pos += length
            continue
        tag_value, pos = _varint(buf, pos)  # scope, schema_url, ...: skipped
        pos = _skip(buf, pos, tag_value & 7)
    return spans


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


def scan_request(body: bytes) -> list[ResourceRange]:
    """Byte ranges of every ResourceSpans, Resource and Span in an ExportTraceServiceRequest.

    Raises ValueError on a malformed encoding (the receiver has already validated real traffic).
    """
    out: list[ResourceRange] = []
    r_index = 0
    for number, r_start, r_end in _fields(body, 0, len(body)):
        if number != 1:
            continue
        resource: tuple[int, int] | None = None
        spans: list[SpanRange] = []
        scope_index = 0
        for inner, start, end in _fields(body, r_start, r_end):
            if inner == 1:
                resource = (start, end)
            elif inner == 2:
                spans += _span_ranges(body, start, end, r_index, scope_index)
                scope_index += 1
        out.append(ResourceRange(r_start, r_end, resource, spans))
        r_index += 1
    return out


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _splice(buf: bytes, start: int, end: int, tag: bytes, children: list[tuple[int, int, bytes]]) -> bytes:
    """Payload ``buf[start:end]`` with the length-delimited children at ``(v_start, v_end)`` replaced.

    Each child is preceded by ``tag`` and its length varint, which are rewritten for the new payload.
    """
    out: list[bytes] = []
    pos = start
    for v_start, v_end, payload in sorted(children):
        header = v_start - len(_encode_varint(v_end - v_start)) - len(tag)
        if buf[header : header + len(tag)] != tag:  # a non-minimal length varint: refuse, never corrupt
            raise ValueError("unexpected field header; cannot splice")
        out += [buf[pos:header], tag, _encode_varint(len(payload)), payload]
        pos = v_end
    out.append(buf[pos:end])
    return b"".join(out)


def replace_spans(body: bytes, new_spans: dict[SpanRange, bytes], resources: list[ResourceRange]) -> bytes:
    """``body`` with each span replaced by its new encoding; everything else is copied as bytes.

    Only the headers (lengths) of the enclosing ScopeSpans and ResourceSpans are rewritten, so stamping
    a few spans costs a copy of the request, not a decode and re-encode of it.
    """
    if not new_spans:
        return body
    by_scope: dict[tuple[int, int], list[tuple[int, int, bytes]]] = {}
    for span, payload in new_spans.items():
        by_scope.setdefault(span.scope, []).append((span.start, span.end, payload))
    top: list[tuple[int, int, bytes]] = []
    for resource in resources:
        scopes = [
            (s, e, _splice(body, s, e, b"\x12", c))
            for (s, e), c in by_scope.items()
            if resource.start <= s < resource.end
        ]
        if scopes:
            top.append(
                (resource.start, resource.end, _splice(body, resource.start, resource.end, b"\x12", scopes))
            )
    return _splice(body, 0, len(body), b"\x0a", top)
