"""Write OTLP request bytes into ``otel_traces`` through a Store, letting ClickHouse parse them.

``trace_summaries`` needs no code here: its materialized view folds every insert block into per-trace
partial rows, correct however many batches a trace's spans arrive in (read ``trace_summaries_final``).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from tracelock.collector.component import AttributeRewrite
from tracelock.collector.exporters.clickhouse.spans_sql import (
    INPUT_STRUCTURE,
    SCHEMA_MESSAGE,
    SCHEMA_PATH,
    insert_params,
    render_insert,
)
from tracelock.store import Store
from tracelock.store.base import render_settings
from tracelock.store.chdb_store import ChdbStore
from tracelock.store.errors import translate_errors

__all__ = ["SpanWriter"]


class SpanWriter:
    """Inserts batches of serialized ExportTraceServiceRequests. Thread-safe (one insert at a time).

    chDB reads the batch from a spool file in ``spool_dir`` (chDB's streaming insert does not take
    ``INSERT ... SELECT``); a ClickHouse server receives it as the body of ``INSERT ... FROM input()``
    with the protobuf schema sent inline (``format_schema_source = 'string'``, ClickHouse >= 25.x).
    """

    def __init__(self, store: Store, spool_dir: str | Path | None = None, table: str = "otel_traces") -> None:
        self.store = store
        self.table = table
        self._lock = threading.Lock()
        self._spool_dir = Path(spool_dir) if spool_dir else Path(tempfile.gettempdir())
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool = self._spool_dir / f"otlp-batch-{os.getpid()}-{id(self):x}.bin"

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
        dedup = dedup_trace_ids is not None
        params = insert_params(rewrite, dedup_trace_ids or ())
        with self._lock:
            if isinstance(self.store, ChdbStore):
                self._write_chdb(bodies, params, dedup)
            else:
                self._write_server(b"".join(bodies), params, dedup)

    def _write_chdb(self, bodies: Sequence[bytes], params: dict, dedup: bool) -> None:
        with open(self._spool, "wb") as spool:
            for body in bodies:
                spool.write(body)
        source = f"file({{spool_path:String}}, 'ProtobufSingle', '{INPUT_STRUCTURE}')"
        sql = render_insert(source, dedup, self.table) + render_settings(
            {"format_schema": f"{SCHEMA_PATH}:{SCHEMA_MESSAGE}"}
        )
        try:
            self.store.command(sql, {**params, "spool_path": str(self._spool)})
        finally:
            self._spool.unlink(missing_ok=True)

    def _write_server(self, body: bytes, params: dict, dedup: bool) -> None:
        client = self.store._client  # type: ignore[attr-defined]  # ClickHouseStore's clickhouse-connect client
        sql = render_insert(f"input('{INPUT_STRUCTURE}')", dedup, self.table) + " FORMAT ProtobufSingle"
        settings = {
            "format_schema_source": "string",
            "format_schema": SCHEMA_PATH.read_text(),
            "format_schema_message_name": SCHEMA_MESSAGE,
        }
        with translate_errors(self.store.description, "INSERT INTO otel_traces ... FROM input()"):
            client.command(sql, parameters=params, data=body, settings=settings)
