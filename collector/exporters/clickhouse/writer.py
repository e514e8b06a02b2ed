"""Write OTLP request bytes into ``otel_traces`` through the store's protobuf insert, letting ClickHouse
parse them.

``trace_summaries`` needs no code here: its materialized view folds every insert block into per-trace
partial rows, correct however many batches a trace's spans arrive in (read ``trace_summaries_final``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from tracelock.collector.component import AttributeRewrite
from tracelock.collector.exporters.clickhouse.spans_sql import (
    INPUT_STRUCTURE,
    INSERTED_COLUMNS,
    SCHEMA_MESSAGE,
    SCHEMA_PATH,
    insert_params,
    render_select,
)
from tracelock.store import Store
from tracelock.store.protobuf_insert import ProtobufInsert, protobuf_writer

__all__ = ["DEFAULT_PARSE_BLOCK_BYTES", "SpanWriter"]


# Lazy if() branches in the conversion SELECT (the pricing mapUpdate, the origin stamp) for spans that do not
# take them. It does not reach otel_traces' MATERIALIZED columns: ClickHouse evaluates those eagerly on
# INSERT whatever this says (checked with a throwIf branch; bench/RESULTS.md, issue 15).
INSERT_SETTINGS: dict[str, object] = {"short_circuit_function_evaluation": "force_enable"}

#: ClickHouse parses a batch's requests into blocks of at most this many bytes and converts them block by
#: block, then squashes the rows into one block for the table (one part, one insert token). Smaller blocks
#: hold less at once (the conversion's intermediate arrays are ~10 KB a span) but pay a per-block cost:
#: 2 MiB keeps the embedded collector under 600 MB of peak RSS under the SDK load at ~13 % more INSERT
#: instructions than 16 MiB (bench/RESULTS.md, issue 18). The exporter's ``parse_block_mib`` sets it.
DEFAULT_PARSE_BLOCK_BYTES = 2 << 20


class SpanWriter:
    """Inserts batches of serialized ExportTraceServiceRequests. Thread-safe (one insert at a time)."""

    def __init__(
        self, store: Store, table: str = "otel_traces", *, parse_block_bytes: int = DEFAULT_PARSE_BLOCK_BYTES
    ) -> None:
        self.store = store
        self.table = table
        self._parse_block: dict[str, object] = {"input_format_max_block_size_bytes": parse_block_bytes}
        self._target = protobuf_writer(store)
        self._lock = threading.Lock()

    def write(self, bodies: Sequence[bytes], rewrite: AttributeRewrite, *, token: str = "") -> None:
        """Insert the spans of every request in ``bodies``; with ``token`` store the batch once however
        often it is written (the tables keep the last tokens, migration 0030)."""
        if not bodies:
            return
        insert = ProtobufInsert(
            table=self.table,
            columns=INSERTED_COLUMNS,
            select=render_select,
            structure=INPUT_STRUCTURE,
            schema=SCHEMA_PATH,
            message=SCHEMA_MESSAGE,
            params=insert_params(rewrite),
            settings={**_ANY_TIMESTAMPS, **self._parse_block, **INSERT_SETTINGS, **_dedup_settings(token)},
        )
        with self._lock:
            self._target.insert_protobuf(insert, bodies)


# otel_traces is partitioned by day: a batch whose spans carry timestamps on more than 100 days (one
# client's clock, or an attacker's) would otherwise fail as a whole, on every retry. Acknowledged spans
# are stored whatever their timestamps; ClickHouse only logs the many small parts.
_ANY_TIMESTAMPS: dict[str, object] = {"throw_on_max_partitions_per_insert_block": 0}


def _dedup_settings(token: str) -> dict[str, object]:
    if not token:
        return {}
    # the views' tables (trace_summaries, eval_records) skip the block too, or they would count it twice
    return {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}
