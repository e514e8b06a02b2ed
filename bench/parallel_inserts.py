"""Do several span INSERTs in flight scale on two cores? chDB in-process, the collector's own writer.

The collector has one writer thread per exporter queue, so one INSERT runs at a time; issue 18's target
is two cores >= 1.8x one core. chDB 4.4 allows several sessions on one data directory in one process,
so this script measures what N writers (a session and a ``SpanWriter`` each, one thread each) reach:

- 1 writer pinned to one core (the baseline);
- 1 writer on two cores (what one INSERT gets from ClickHouse's own threads);
- 2 writers on two cores (parallel INSERTs: the exporter helper's next step).

Printed: spans/s (wall clock) and CPU µs per span for each, and the ratio to the baseline. Same
requests as ``collector_ingest.py`` (``--workload``), background merges stopped while measuring.

    python bench/parallel_inserts.py [--workload sdk|synthetic] [--requests 32] [--batches 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path

from collector_ingest import SPANS_PER_REQUEST, workload_bodies
from sdk_workload import SPANS_PER_TRACE

from tracelock.collector.exporters.clickhouse.writer import SpanWriter
from tracelock.collector.processors.normalize.normalize import default_rewrite
from tracelock.store import apply_migrations
from tracelock.store.chdb_store import ChdbStore


def run(data: Path, batches: list[list[bytes]], writers: int, cpus: set[int]) -> tuple[float, float]:
    """Write every batch with ``writers`` threads on ``cpus``; (wall seconds, CPU seconds)."""
    os.sched_setaffinity(0, cpus)
    stores = [ChdbStore(data) for _ in range(writers)]
    rewrite = default_rewrite()
    try:
        span_writers = [SpanWriter(store, data.parent / "spool") for store in stores]
        shares = [batches[i::writers] for i in range(writers)]

        def write(index: int) -> None:
            for batch in shares[index]:
                span_writers[index].write(batch, rewrite)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        wall, cpu = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for store in stores:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["sdk", "synthetic"], default="sdk")
    parser.add_argument("--requests", type=int, default=32, help="requests (512 spans each) per INSERT")
    parser.add_argument("--batches", type=int, default=6, help="INSERTs per configuration (even)")
    args = parser.parse_args()
    all_cpus = os.sched_getaffinity(0)
    print(
        f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    per_trace = SPANS_PER_TRACE if args.workload == "sdk" else 1
    n, count = args.requests, args.batches
    bodies = workload_bodies(args.workload, n * count * 3, per_trace)
    spans = n * count * SPANS_PER_REQUEST
    print(f"{count} INSERTs of {n} x {SPANS_PER_REQUEST} spans per configuration, workload {args.workload}")
    workdir = Path(tempfile.mkdtemp(prefix="tl-parallel-"))
    try:
        store = ChdbStore(workdir / "data")
        apply_migrations(store)
        store.command("SYSTEM STOP MERGES")
        configurations = (
            ("1 writer, 1 core", 1, {min(all_cpus)}),
            ("1 writer, 2 cores", 1, all_cpus),
            ("2 writers, 2 cores", 2, all_cpus),
        )
        baseline = None
        for index, (name, writers, cpus) in enumerate(configurations):
            chunk = bodies[index * n * count : (index + 1) * n * count]
            batches = [chunk[i * n : (i + 1) * n] for i in range(count)]
            wall, cpu = run(workdir / "data", batches, writers, cpus)
            rate = spans / wall
            baseline = baseline or rate
            print(
                f"{name:20s} {rate:9,.0f} spans/s  {cpu / spans * 1e6:6.2f} CPU µs/span  "
                f"{rate / baseline:4.2f}x the first"
            )
        store.close()
    finally:
        os.sched_setaffinity(0, all_cpus)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
