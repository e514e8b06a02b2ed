"""Where one span's write time goes, and the floor under it: chDB in-process, pinned to one core.

``collector_ingest.py`` measures the whole collector; this script takes its ClickHouse half apart with
the same requests (512 LLM-app spans each), so the collector's figure can be read against what the
table itself costs on the same machine in the same run:

- ``writer``: the collector's INSERT (``SpanWriter``: ClickHouse parses the OTLP protobuf, converts,
  renames, stamps) into ``otel_traces`` with its materialized views — what the collector runs;
- ``convert only``: the same INSERT ... SELECT into a Null-engine copy of ``otel_traces``;
- ``floor: table + views``: the same rows, already flat (ClickHouse Native format), into ``otel_traces``
  — no parsing or conversion at all, only the MergeTree write, skip indexes, MATERIALIZED shared-key
  columns and the four views. No collector writing this schema can go below it;
- ``floor: table only``: the same into a copy of ``otel_traces`` without views;
- ``fixed cost``: the writer's INSERT of an empty request (planning the statement, the views).

Background merges are stopped while measuring (they are real cost, but they belong to the table, not
to one INSERT; ``collector_ingest.py`` shows them in the collector's CPU).

Per stage: CPU µs per span (all threads, best and median of ``--repeat``) and the spans/s one core
could reach at that cost.

    python bench/write_floor.py [--workload sdk|synthetic] [--requests 64] [--repeat 5]

``--workload`` is ``collector_ingest.py``'s (default ``sdk``: OpenTelemetry-SDK-encoded LLM traces).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from collector_ingest import SPANS_PER_REQUEST, workload_bodies
from sdk_workload import SPANS_PER_TRACE

from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.processors.normalize.normalize import default_rewrite
from tracelock.store import apply_migrations
from tracelock.store.chdb_store import ChdbStore

COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, "
    "ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage, "
    "`Events.Timestamp`, `Events.Name`, `Events.Attributes`, "
    "`Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`"
)

VIEWS = (
    "trace_summaries_mv",
    "otel_traces_trace_id_ts_mv",
    "eval_records_from_spans_mv",
    "eval_records_from_events_mv",
)


def cpu_us(run: Callable[[int], None], repeat: int) -> list[float]:
    """CPU seconds (process-wide: ClickHouse's threads included) of each of ``repeat`` runs, in µs."""
    times = []
    for i in range(repeat):
        started = time.process_time()
        run(i)
        times.append((time.process_time() - started) * 1e6)
    return times


def report(stage: str, times: list[float], spans: int) -> None:
    best, median = min(times) / spans, statistics.median(times) / spans
    print(
        f"{stage:42s} best {best:6.2f} µs/span  median {median:6.2f}  "
        f"-> {1e6 / best:8,.0f} spans/s on one core (best)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["sdk", "synthetic"], default="sdk")
    parser.add_argument("--requests", type=int, default=64, help="requests (512 spans each) per INSERT")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()} "
        f"(pinned to one), load average {os.getloadavg()[0]:.2f}"
    )
    n, repeat = args.requests, args.repeat
    spans = n * SPANS_PER_REQUEST
    print(
        f"{n} requests x {SPANS_PER_REQUEST} spans = {spans} spans per INSERT, {repeat} runs per stage, "
        f"workload {args.workload}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="tl-floor-"))
    try:
        store = ChdbStore(workdir / "data")
        apply_migrations(store)
        store.command("SYSTEM STOP MERGES")  # measured: the inserts; background merges come on top
        rewrite = default_rewrite()
        per_trace = SPANS_PER_TRACE if args.workload == "sdk" else 1
        requests = workload_bodies(args.workload, n * repeat * 2, per_trace)

        def batch(i: int) -> list[bytes]:
            return requests[i * n : (i + 1) * n]

        writer = SpanWriter(store)
        report("writer (the collector's)", cpu_us(lambda i: writer.write(batch(i), rewrite), repeat), spans)

        store.command("CREATE TABLE otel_traces_null AS otel_traces ENGINE = Null")
        null_writer = SpanWriter(store, table="otel_traces_null")
        convert = cpu_us(lambda i: null_writer.write(batch(repeat + i), rewrite), repeat)
        report("convert only (-> Null)", convert, spans)

        native = workdir / "rows.native"
        store.command(
            f"INSERT INTO FUNCTION file('{native}', 'Native') SELECT {COLUMNS} FROM otel_traces LIMIT {spans}"
        )
        from_native = f"({COLUMNS}) SELECT * FROM file('{native}', 'Native')"
        floor = cpu_us(lambda i: store.command(f"INSERT INTO otel_traces {from_native}"), repeat)
        report("floor: table + views", floor, spans)
        for view in VIEWS:
            store.command(f"DETACH TABLE {view}")
            times = cpu_us(lambda i: store.command(f"INSERT INTO otel_traces {from_native}"), repeat)
            store.command(f"ATTACH TABLE {view}")
            report(f"  without {view}", times, spans)
        store.command("CREATE TABLE otel_traces_copy AS otel_traces")
        bare = cpu_us(lambda i: store.command(f"INSERT INTO otel_traces_copy {from_native}"), repeat)
        report("floor: table only", bare, spans)

        fixed = cpu_us(lambda i: writer.write([b""], rewrite), repeat)
        print(f"{'fixed cost per INSERT':42s} best {min(fixed) / 1000:6.1f} ms (an empty request)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
