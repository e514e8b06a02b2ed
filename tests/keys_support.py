"""Spans from any client through the collector's normalise step and writer into real chDB.

The unit of the key tests: build spans the way a given instrumentation sets them, run them through
:class:`NormalizeProcessor` and :class:`SpanWriter` (the collector's own pipeline pieces, minus the
network), then read ``otel_traces`` / ``trace_summaries_final`` back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.component import Settings, SpanBatch
from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.processors.normalize.normalize import NormalizeProcessor
from tracelock.sampler.otlp_build import SpanSpec, build_request, key_values
from tracelock.store import Store

_ids = itertools.count(1)


@dataclass
class TestSpan:
    attributes: Mapping[str, Any]
    trace: int = 1
    name: str = "span"
    parent: bool = True
    events: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    __test__ = False  # not a pytest class


def trace_id(trace: int) -> str:
    return f"{trace:032x}"


def request_of(
    spans: Iterable[TestSpan], resource: Mapping[str, Any] | None = None
) -> ExportTraceServiceRequest:
    spans = list(spans)
    specs = [
        SpanSpec(
            trace_id(s.trace),
            f"{next(_ids):016x}",
            f"{9:016x}" if s.parent else "",
            s.name,
            start_ns=1_760_000_000_000_000_000,
            duration_ns=500_000_000,
            attributes=s.attributes,
            kind=3,
        )
        for s in spans
    ]
    request = build_request(specs, {"service.name": "keys-test", **(resource or {})})
    for s, span in zip(spans, request.resource_spans[0].scope_spans[0].spans, strict=True):
        for name, attrs in s.events:
            span.events.add(name=name, time_unix_nano=1_760_000_000_100_000_000).attributes.extend(
                key_values(attrs)
            )
    return request


def new_processor(config: NormalizeConfig | None = None) -> NormalizeProcessor:
    return NormalizeProcessor(Settings.create("processor", "normalize"), config or NormalizeConfig())


def ingest(
    store: Store,
    spans: Iterable[TestSpan],
    *,
    resource: Mapping[str, Any] | None = None,
    config: NormalizeConfig | None = None,
    processor: NormalizeProcessor | None = None,
) -> None:
    """Normalise and write ``spans`` exactly as the collector does (``processor``: keep one across calls)."""
    processor = processor or new_processor(config)
    batch = processor.consume(SpanBatch.from_request(request_of(spans, resource)))
    SpanWriter(store).write(batch.bodies, batch.rewrite)


def span_attributes(store: Store, trace: int = 1) -> list[dict[str, str]]:
    rows = store.query(
        "SELECT SpanAttributes FROM otel_traces WHERE TraceId = {t:String} ORDER BY SpanId",
        {"t": trace_id(trace)},
    )
    return [dict(r[0]) for r in rows]


def span_columns(store: Store, columns: str, trace: int = 1) -> list[dict[str, Any]]:
    return store.query(
        f"SELECT {columns} FROM otel_traces WHERE TraceId = {{t:String}} ORDER BY SpanId",
        {"t": trace_id(trace)},
    ).dicts()


def summary(store: Store, trace: int = 1) -> dict[str, Any]:
    rows = store.query(
        "SELECT * FROM trace_summaries_final WHERE TraceId = {t:String}", {"t": trace_id(trace)}
    ).dicts()
    assert len(rows) == 1, rows
    return rows[0]
