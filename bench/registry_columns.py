"""What the registry's MATERIALIZED columns of ``otel_traces`` cost per span, and what would not help.

The collector's INSERT (``SpanWriter``) runs into Null-engine copies of ``otel_traces`` that differ only in
their registry columns, in interleaved rounds (process CPU time, ClickHouse's threads included, pinned to
one core):

- ``other writers``: the columns of a table with other writers (migration 0040, ``tracelock init
  --other-writers``: canonical key for tracelock's rows, every alias and JSON expander as fallback for
  other writers' rows);
- ``canonical only``: each column reads its canonical key alone (migration 0090: a table only
  tracelock's collector writes);
- ``no JSON expanders``: the fallbacks without the Langfuse/OpenInference JSON members;
- ``constants``: every registry column a constant (the floor without any registry column work).

(Two designs measured and dropped on 2026-12-02, DEFAULT columns the writer's SELECT supplies, from
plain or typed maps, are in bench/RESULTS.md; their variants left with them.)

ClickHouse evaluates MATERIALIZED expressions eagerly on INSERT (both branches of every ``if``), which is
why tracelock's rows pay for the fallbacks they never take where the table has other writers.

    python bench/registry_columns.py [--requests 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from collector_ingest import SPANS_PER_REQUEST, workload_bodies
from sdk_workload import SPANS_PER_TRACE

from tracelock.collector.exporters.clickhouse import writer as span_writer
from tracelock.collector.processors.normalize.normalize import default_rewrite
from tracelock.semconv import KEY_BY_NAME, Key
from tracelock.semconv import columns as registry_columns
from tracelock.semconv.columns import SPAN_COLUMNS, SpanColumn, Writers, span_columns
from tracelock.store import apply_migrations
from tracelock.store.chdb_store import ChdbStore

#: The registry's own text expression, before any variant below swaps it in.
RENDERED = registry_columns._text_expression


def columns_with(text_expression: Callable[[Key, Writers], str]) -> list[SpanColumn]:
    """The registry's span columns rendered with another text expression per key."""
    saved = registry_columns._text_expression
    registry_columns._text_expression = text_expression
    try:
        return [
            registry_columns._span_column(KEY_BY_NAME[c.key], Writers.ANY) if c.key in KEY_BY_NAME else c
            for c in SPAN_COLUMNS
        ]
    finally:
        registry_columns._text_expression = saved


def without_json(key: Key, writers: Writers) -> str:
    saved = registry_columns._EXPANDER_SQL
    registry_columns._EXPANDER_SQL = {}
    try:
        return RENDERED(key, writers)
    finally:
        registry_columns._EXPANDER_SQL = saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=16, help="requests (512 spans each) per INSERT")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        f"machine: {platform.platform()} python {platform.python_version()} "
        f"cpus={os.cpu_count()} (pinned to one)"
    )
    store = ChdbStore(Path(tempfile.mkdtemp(prefix="tl-registry-")) / "data")
    apply_migrations(store)
    store.command("SYSTEM STOP MERGES")
    variants: dict[str, tuple[str, list[SpanColumn], str]] = {
        "other writers": ("null_rendered", list(SPAN_COLUMNS), "MATERIALIZED"),
        "canonical only": ("null_canonical", list(span_columns(Writers.TRACELOCK)), "MATERIALIZED"),
        "no JSON expanders": ("null_no_json", columns_with(without_json), "MATERIALIZED"),
        "constants": (
            "null_constants",
            [
                SpanColumn(c.name, c.key, c.type, "''" if "String" in c.type else "0", "")
                for c in SPAN_COLUMNS
            ],
            "MATERIALIZED",
        ),
    }
    for table, columns, kind in variants.values():
        store.command(f"CREATE TABLE {table} AS otel_traces ENGINE = Null")
        for c in columns:
            store.command(f"ALTER TABLE {table} MODIFY COLUMN `{c.name}` {c.type} {kind} {c.expression}")
    rewrite = default_rewrite()
    bodies = workload_bodies("sdk", args.requests, SPANS_PER_TRACE)
    spans = args.requests * SPANS_PER_REQUEST
    print(
        f"{spans} spans per INSERT, {args.rounds} interleaved rounds, load {os.getloadavg()[0]:.1f} at start"
    )
    figures: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (table, _, _) in variants.items():
            writer = span_writer.SpanWriter(store, table=table)
            started = time.process_time()
            writer.write(bodies, rewrite)
            figures[name].append((time.process_time() - started) / spans * 1e6)
    print(f"load {os.getloadavg()[0]:.1f} at end; CPU µs per span, best and median of the rounds")
    for name, times in figures.items():
        print(f"{name:28s} best {min(times):6.2f}  median {statistics.median(times):6.2f}")


if __name__ == "__main__":
    main()
