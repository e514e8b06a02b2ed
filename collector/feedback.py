"""Feedback ingest: user complaints, ratings and comments linked to traces by id.

Shared by ``POST /v1/feedback`` (receiver and admin endpoint) and ``tracelock feedback add``. Feedback
about a trace that is not stored (yet) is kept - it may arrive before its trace - and counted.

Over HTTP a post is capped at :data:`MAX_FEEDBACK_RECORDS` records and :data:`MAX_FEEDBACK_BYTES` bytes
(413 naming the cap) and handled by :func:`ingest_feedback` in a worker thread: everything here is one
pass over the records, so a large post costs time in proportion and never the event loop's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tracelock.errors import InputError, PayloadTooLarge
from tracelock.store import Store

__all__ = [
    "KINDS",
    "MAX_FEEDBACK_BYTES",
    "MAX_FEEDBACK_RECORDS",
    "FeedbackResult",
    "ingest_feedback",
    "parse_feedback",
    "store_feedback",
]

MAX_FEEDBACK_RECORDS = 10_000
MAX_FEEDBACK_BYTES = 4 << 20
_MAX_DEPTH = 32  # attribute values are stored as JSON text; deeper is abuse
KINDS = ("complaint", "thumbs_down", "thumbs_up", "rating", "comment")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_FIELDS = {
    "feedback_id",
    "trace_id",
    "span_id",
    "kind",
    "value",
    "comment",
    "customer_id",
    "user_id",
    "source",
    "timestamp",
    "attributes",
}


@dataclass(frozen=True)
class FeedbackResult:
    accepted: int
    unknown_trace_ids: list[str]
    feedback_ids: list[str]
    unknown_trace_records: int = 0  # records about those traces (a trace may have several)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "unknown_trace_ids": self.unknown_trace_ids,
            "feedback_ids": self.feedback_ids,
        }


def _timestamp(value: Any, where: str) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise InputError(f"{where}.timestamp: {value!r} is not a usable epoch time") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"{where}.timestamp: {value!r} is not ISO-8601") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise InputError(f"{where}.timestamp: expected ISO-8601 text or epoch seconds")


def _one(item: Any, where: str, default_source: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise InputError(f"{where}: expected a JSON object")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise InputError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}"
        )
    trace_id = str(item.get("trace_id") or "").lower()
    if not _HEX32.match(trace_id):
        raise InputError(f"{where}.trace_id: {trace_id!r} is not 32 hex characters")
    span_id = str(item.get("span_id") or "").lower()
    if span_id and not _HEX16.match(span_id):
        raise InputError(f"{where}.span_id: {span_id!r} is not 16 hex characters")
    kind = str(item.get("kind") or "")
    if kind not in KINDS:
        raise InputError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
    value = item.get("value")
    if value is None and kind == "rating":
        raise InputError(f"{where}.value: a rating needs a value")
    if value is None:
        value = {"complaint": 1.0, "thumbs_down": 0.0, "thumbs_up": 1.0}.get(kind, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}.value: expected a number")
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise InputError(f"{where}.attributes: expected an object")
    ts = _timestamp(item.get("timestamp"), where)
    comment = str(item.get("comment") or "")
    feedback_id = str(item.get("feedback_id") or "")
    if not feedback_id:
        digest = hashlib.sha256(f"{trace_id}|{span_id}|{kind}|{value}|{comment}|{ts.isoformat()}".encode())
        feedback_id = digest.hexdigest()[:32]
    return {
        "FeedbackId": feedback_id,
        "Timestamp": ts,
        "TraceId": trace_id,
        "SpanId": span_id,
        "Kind": kind,
        "Value": float(value),
        "Comment": comment,
        "CustomerId": str(item.get("customer_id") or ""),
        "UserId": str(item.get("user_id") or ""),
        "Source": str(item.get("source") or default_source),
        "Attributes": {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in attributes.items()},
    }


def parse_feedback(
    body: bytes | Any, default_source: str = "api", max_records: int | None = None
) -> list[dict[str, Any]]:
    """Rows for the feedback table from JSON: one object, a list, or ``{"feedback": [...]}``.

    More than ``max_records`` records is PayloadTooLarge (checked before any record is validated).
    """
    if isinstance(body, bytes | bytearray):
        # Imported here: `tracelock feedback add` passes parsed records and starts without protobuf.
        from tracelock.collector.receivers.otlp.decode import loads_json

        body = loads_json(bytes(body), max_depth=_MAX_DEPTH)
    items = body.get("feedback") if isinstance(body, Mapping) and "feedback" in body else body
    items = items if isinstance(items, list) else [items]
    if not items:
        raise InputError("no feedback records in the body")
    if max_records is not None and len(items) > max_records:
        raise PayloadTooLarge(
            f"{len(items)} feedback records in one request, the limit is {max_records}: send smaller batches"
        )
    return [_one(item, f"feedback[{i}]", default_source) for i, item in enumerate(items)]


def store_feedback(store: Store, rows: list[dict[str, Any]]) -> FeedbackResult:
    """Insert the rows (durable when this returns) and report trace ids not found in otel_traces."""
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    store.insert("feedback", columns)
    trace_ids = sorted(set(columns["TraceId"]))
    known = store.query(
        "SELECT DISTINCT TraceId FROM otel_traces WHERE TraceId IN {ids:Array(String)}", {"ids": trace_ids}
    )
    found = {row[0] for row in known.rows}
    unknown = [t for t in trace_ids if t not in found]
    unknown_records = sum(1 for t in columns["TraceId"] if t not in found)
    return FeedbackResult(len(rows), unknown, columns["FeedbackId"], unknown_records)


def ingest_feedback(store: Store, body: bytes) -> FeedbackResult:
    """One HTTP post: parse within the record cap, validate, store. Blocking: call it from a worker."""
    return store_feedback(store, parse_feedback(body, max_records=MAX_FEEDBACK_RECORDS))
