"""Peak memory one writer INSERT adds, by batch size: what bounds the collector's peak RSS with chDB.

Each size runs in a fresh child process (peak RSS is a high-water mark): open chDB on a new directory,
migrate, write one small warm-up batch, then one batch of ``--sizes`` requests of 512 SDK-workload spans
through ``SpanWriter`` (the collector's INSERT). Printed: the process's peak RSS before and after the
batch, what the batch added, per span, and the INSERT's CPU µs per span.

    python bench/insert_memory.py [--sizes 16 32 64] [--setting name=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(requests: int, settings: dict[str, str]) -> None:
    from collector_ingest import SPANS_PER_REQUEST, workload_bodies
    from sdk_workload import SPANS_PER_TRACE

    from tracelock.collector.exporters.clickhouse import writer as span_writer
    from tracelock.collector.processors.normalize.normalize import default_rewrite
    from tracelock.store import apply_migrations
    from tracelock.store.chdb_store import ChdbStore

    store = ChdbStore(Path(tempfile.mkdtemp(prefix="tl-insert-memory-")) / "data")
    apply_migrations(store)
    rewrite = default_rewrite()
    span_writer.SpanWriter(store).write(workload_bodies("sdk", 2, SPANS_PER_TRACE), rewrite)
    bodies = workload_bodies("sdk", requests, SPANS_PER_TRACE)
    span_writer.INSERT_SETTINGS = {**span_writer.INSERT_SETTINGS, **settings}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time()
    span_writer.SpanWriter(store).write(bodies, rewrite)
    cpu = time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spans = requests * SPANS_PER_REQUEST
    print(json.dumps({"spans": spans, "before": before, "after": after, "cpu_us": cpu / spans * 1e6}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64], help="requests per batch")
    parser.add_argument("--setting", action="append", default=[], help="ClickHouse setting name=value")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = dict(s.split("=", 1) for s in args.setting)
    if args.child:
        child(args.child, settings)
        return
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    print(f"settings: {settings or 'the writer defaults'}; load {os.getloadavg()[0]:.1f}")
    header = f"{'spans':>7} {'peak before':>12} {'peak after':>11} {'added':>8} {'KB/span':>8}"
    print(f"{header} {'CPU µs/span':>12}")
    extra = [f"--setting={s}" for s in args.setting]
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size), *extra],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        added = r["after"] - r["before"]
        print(
            f"{r['spans']:7d} {r['before']:9.0f} MB {r['after']:8.0f} MB {added:5.0f} MB "
            f"{added * 1024 / r['spans']:8.1f} {r['cpu_us']:12.2f}"
        )


if __name__ == "__main__":
    main()
