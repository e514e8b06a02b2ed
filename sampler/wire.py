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

__all__ = ["ResourceRange", "SpanRange", "scan_request"]


@dataclass(frozen=True, slots=True)
class SpanRange:
    """A span's encoded bytes ``[start, end)``, and where it sits in the request."""

    start: int
    end: int
    resource_index: int
    scope_index: int
    span_index: int


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


def scan_request(body: bytes) -> list[ResourceRange]:
    """Byte ranges of every ResourceSpans, Resource and Span in an ExportTraceServiceRequest.

    Raises ValueError on a malformed encoding (the receiver has already validated real traffic).
    """
    out: list[ResourceRange] = []
    for r_index, (field, r_start, r_end) in enumerate(f for f in _fields(body, 0, len(body)) if f[0] == 1):
        del field
        resource: tuple[int, int] | None = None
        spans: list[SpanRange] = []
        scope_index = 0
        for number, start, end in _fields(body, r_start, r_end):
            if number == 1:
                resource = (start, end)
            elif number == 2:
                span_index = 0
                for inner, s_start, s_end in _fields(body, start, end):
                    if inner == 2:
                        spans.append(SpanRange(s_start, s_end, r_index, scope_index, span_index))
                        span_index += 1
                scope_index += 1
        out.append(ResourceRange(r_start, r_end, resource, spans))
    return out
