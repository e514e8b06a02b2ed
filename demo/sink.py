"""An OTel SDK SpanExporter that writes into a Store exactly as the collector does, without a server:
spans are encoded with the standard OTLP protobuf encoder (the bytes an OTLP exporter would send) and
handed to :func:`tracelock.collector.load.load_request` (the collector's validation, normalisation
and ClickHouse-side flattening).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tracelock.collector.load import load_request
from tracelock.store import Store

__all__ = ["StoreSpanExporter"]


class StoreSpanExporter(SpanExporter):
    """Export batches straight into ``store`` (the in-process twin of OTLP -> collector -> ClickHouse)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.spans_written = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        body = encode_spans(spans).SerializeToString()
        with self._lock:
            self.spans_written += load_request(self.store, body)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
