"""Turn what an OTLP client sent into a validated ExportTraceServiceRequest (or a precise InputError).

Protobuf bodies are parsed by the upb backend (a few microseconds per span); the only per-span Python
work is the id-length check the OTLP spec requires before anything is acknowledged. OTLP/JSON follows
the spec's JSON mapping: lowerCamelCase names, enums as integers, trace/span ids as hex (not base64).
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
import zlib
from typing import Any, NamedTuple

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.errors import InputError, PayloadTooLarge

__all__ = [
    "Validated",
    "canonical_bytes",
    "count_and_check_spans",
    "decode_json",
    "decode_protobuf",
    "decompress",
    "loads_json",
    "validated_body",
]


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate or identity), refusing output over ``limit`` bytes."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise InputError(f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or identity")
    wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InputError(f"corrupt {encoding} body: {exc}") from exc
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise InputError(f"truncated {encoding} body: the compressed stream ends early")
    return out


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InputError(f"malformed protobuf ExportTraceServiceRequest: {exc}") from exc


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


def _hex_ids_to_base64(obj: dict[str, Any], where: str) -> None:
    for name in _ID_FIELDS:
        value = obj.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InputError(f"{where}.{name}: expected a hex string, got {type(value).__name__}")
        try:
            raw = bytes.fromhex(value)
        except ValueError as exc:
            raise InputError(f"{where}.{name}: {value[:40]!r} is not hex") from exc
        obj[name] = base64.b64encode(raw).decode()


def _list(obj: Any, name: str, where: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where or 'body'}: expected an object, got {type(obj).__name__}")
    value = obj.get(name) or []
    if not isinstance(value, list):
        raise InputError(f"{where}.{name}: expected a list")
    return value


def _first_too_deep(doc: Any, limit: int) -> str | None:
    """The path of the first value nested more than ``limit`` containers deep, or None.

    Iterative (a recursive walk is what fails on hostile input); paths are kept as parent links and
    spelled out only for the answer.
    """
    Link = tuple[Any, str] | None
    stack: list[tuple[Any, int, Link]] = [(doc, 0, None)]
    while stack:
        value, depth, link = stack.pop()
        if depth > limit:
            parts: list[str] = []
            while link is not None:
                link, part = link
                parts.append(part)
            path = "".join(reversed(parts)).lstrip(".")
            return path if len(path) <= 160 else f"{path[:100]}...{path[-50:]}"
        if isinstance(value, dict):
            items: Any = value.items()
            stack.extend((v, depth + 1, (link, f".{k}")) for k, v in items if isinstance(v, dict | list))
        else:
            items = enumerate(value)
            stack.extend((v, depth + 1, (link, f"[{i}]")) for i, v in items if isinstance(v, dict | list))
    return None


def loads_json(body: bytes, max_depth: int | None = None) -> Any:
    """A JSON request body, or InputError (a 400, never retried) naming what is wrong with it.

    Nesting beyond what Python's parser recurses into is refused as such; with ``max_depth`` the
    document is also walked and refused, with the path, where it nests deeper than that (for bodies
    whose values are later walked recursively; OTLP's AnyValue depth is bounded by protobuf's parser).
    """
    try:
        doc = json.loads(body)
    except RecursionError as exc:
        limit = max_depth or sys.getrecursionlimit()
        raise InputError(f"malformed JSON: nested deeper than {limit} levels") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"malformed JSON: {exc}") from exc
    if max_depth is not None and isinstance(doc, dict | list):
        where = _first_too_deep(doc, max_depth)
        if where is not None:
            raise InputError(f"malformed JSON: nested deeper than {max_depth} levels at {where}")
    return doc


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """OTLP/JSON -> request. Hex ids become bytes; unknown fields are ignored (as the spec allows)."""
    doc = loads_json(body)
    if not isinstance(doc, dict):
        raise InputError("malformed OTLP/JSON: the body must be a JSON object with resourceSpans")
    for i, rs in enumerate(_list(doc, "resourceSpans", "")):
        for j, ss in enumerate(_list(rs, "scopeSpans", f"resourceSpans[{i}]")):
            for k, span in enumerate(_list(ss, "spans", f"resourceSpans[{i}].scopeSpans[{j}]")):
                where = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                if not isinstance(span, dict):
                    raise InputError(f"{where}: expected an object")
                _hex_ids_to_base64(span, where)
                for n, link in enumerate(_list(span, "links", where)):
                    _hex_ids_to_base64(link, f"{where}.links[{n}]")
    try:
        return json_format.ParseDict(doc, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, ValueError, TypeError, RecursionError) as exc:
        raise InputError(f"malformed OTLP/JSON: {exc}") from exc


def count_and_check_spans(request: ExportTraceServiceRequest) -> int:
    """Number of spans; raises InputError naming the first span whose ids have the wrong length."""
    return _scan(request, None).spans


class _Scan(NamedTuple):
    spans: int  # all with ids of the right length
    zero_ids: int  # of which spans with an all-zero trace or span id
    needs_limits: bool  # too many spans, or a span with too many attributes or a maybe too-long value


def _scan(request: ExportTraceServiceRequest, limits: Any) -> _Scan:
    """One pass over the spans for every per-span check (this loop is the receivers' main Python cost).

    ``limits`` None: ids only. Otherwise ``needs_limits`` says whether ``apply_limits`` has work to do.
    """
    count = zero_ids = 0
    check_limits, over = limits is not None, False
    max_attrs = limits.max_attributes_per_span if check_limits else 0
    max_bytes = limits.max_attribute_value_chars if check_limits else 0
    for i, rs in enumerate(request.resource_spans):
        for j, ss in enumerate(rs.scope_spans):
            spans = ss.spans
            for span in spans:
                trace_id, span_id = span.trace_id, span.span_id
                if len(trace_id) != 16 or len(span_id) != 8 or len(span.parent_span_id) not in (0, 8):
                    k = list(spans).index(span)  # an equal span earlier would have failed first
                    raise InputError(_bad_id(span, f"resource_spans[{i}].scope_spans[{j}].spans[{k}]"))
                if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
                    zero_ids += 1
                elif check_limits and not over:
                    over = len(span.attributes) > max_attrs or span.ByteSize() > max_bytes
            count += len(spans)
    return _Scan(count, zero_ids, check_limits and (over or count > limits.max_spans_per_request))


def _bad_id(span: Any, where: str) -> str:
    for name, want in (("trace_id", (16,)), ("span_id", (8,)), ("parent_span_id", (0, 8))):
        got = len(getattr(span, name))
        if got not in want:
            return f"{where}.{name}: {got} bytes, expected {' or '.join(map(str, want))}"
    return f"{where}: invalid ids"


class Validated(NamedTuple):
    """What a receiver stores and answers: bytes, spans kept, spans rejected (partial success) and why."""

    body: bytes
    span_count: int
    rejected: int = 0
    message: str = ""


def _drop_invalid_spans(request: ExportTraceServiceRequest) -> int:
    """Remove spans with an all-zero trace or span id (invalid per the OTel spec); return how many."""
    dropped = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            bad = [i for i, s in enumerate(ss.spans) if s.trace_id == _ZERO_TRACE or s.span_id == _ZERO_SPAN]
            for i in reversed(bad):
                del ss.spans[i]
            dropped += len(bad)
    return dropped


def canonical_bytes(request: ExportTraceServiceRequest) -> bytes:
    """The request as the one parser of record (upb) read it, re-encoded: what is stored.

    The bytes a client sent are never stored as sent. ClickHouse's Protobuf reader and upb disagree on
    non-canonical input: a known field with another wire type is an unknown field to upb but an error
    to ClickHouse (a batch that can never be written); a singular field sent twice is its last value to
    upb but '' to ClickHouse (an id check bypassed). Re-encoding the message Python validated, unknown
    fields dropped, leaves ClickHouse only canonical encodings of exactly what was checked.
    """
    request.DiscardUnknownFields()
    return bytes(request.SerializeToString())


def validated_body(request: ExportTraceServiceRequest, body: bytes | None, limits: Any) -> Validated:
    """The request after the id checks and the receiver's ``limits``, ready to ingest.

    Wrong-length ids refuse the whole request (InputError); spans with all-zero ids are rejected one by
    one and reported as an OTLP partial success. The body ingested is always :func:`canonical_bytes`
    (``body``, the protobuf as received, is accepted for the callers' sake and not reused).
    """
    from tracelock.collector.security.limits import apply_limits

    del body
    scan = _scan(request, limits)
    count, rejected = scan.spans, 0
    if scan.zero_ids:
        rejected = _drop_invalid_spans(request)
        count -= rejected
    if count and scan.needs_limits:
        apply_limits(request, count, limits)
    message = f"{rejected} span(s) rejected: all-zero trace_id or span_id" if rejected else ""
    return Validated(canonical_bytes(request) if count else b"", count, rejected, message)
