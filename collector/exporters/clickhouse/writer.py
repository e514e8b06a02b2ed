"""Write OTLP request bytes into ``otel_traces`` through the store's protobuf insert, letting ClickHouse
parse them.

``trace_summaries`` needs no code here: its materialized view folds every insert block into per-trace
partial rows, correct however many batches a trace's spans arrive in (read ``trace_summaries_final``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import partial

from tracelock.collector.component import AttributeRewrite
from tracelock.collector.exporters.clickhouse.spans_sql import (
    INPUT_STRUCTURE,
    SCHEMA_MESSAGE,
    SCHEMA_PATH,
    insert_params,
    render_insert,
)
from tracelock.store import Store
from tracelock.store.protobuf_insert import ProtobufInsert, protobuf_writer

__all__ = ["SpanWriter"]


class SpanWriter:
    """Inserts batches of serialized ExportTraceServiceRequests. Thread-safe (one insert at a time)."""

    def __init__(self, store: Store, table: str = "otel_traces") -> None:
        self.store = store
        self.table = table
        self._target = protobuf_writer(store)
        self._lock = threading.Lock()

    def write(
        self,
        bodies: Sequence[bytes],
        rewrite: AttributeRewrite,
        *,
        dedup_trace_ids: Iterable[str] | None = None,
    ) -> None:
        """Insert the spans of every request in ``bodies``; with ``dedup_trace_ids`` skip stored spans."""
        if not bodies:
            return
        insert = ProtobufInsert(
            render=partial(render_insert, dedup=dedup_trace_ids is not None, table=self.table),
            structure=INPUT_STRUCTURE,
            schema=SCHEMA_PATH,
            message=SCHEMA_MESSAGE,
            params=insert_params(rewrite, dedup_trace_ids or ()),
        )
        with self._lock:
            self._target.insert_protobuf(insert, bodies)
