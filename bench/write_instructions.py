"""Instructions per span of the write path's stages, counted by valgrind: a figure the machine's noise
does not move.

``write_floor.py`` measures CPU time, which on a shared machine moves by 30 % between runs of the same
code; before/after comparisons of a few µs a span drown in it. This script runs the same stages (the
collector's INSERT into ``otel_traces`` with its views, the same into a Null-engine copy, the floor of
flat rows) in one process under ``valgrind --tool=callgrind`` and counts the instructions each stage
executes (Ir, all threads: ClickHouse's included), instrumenting only while a stage runs. The same code
and inputs give the same count to a fraction of a per cent, whatever else the machine does; compare
trees by putting one first on ``PYTHONPATH``.

    python bench/write_instructions.py [--requests 32]

Slow (valgrind runs chDB ~50x slower): about a minute per stage at 32 requests.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHILD = "--child"
_OUT = "TL_BENCH_CALLGRIND_OUT"  # the parent's folder of callgrind dumps, for the child to read


def parent(args: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found (Debian: apt-get install valgrind)")
    out = Path(tempfile.mkdtemp(prefix="tl-ir-"))
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
        sys.executable, __file__, CHILD, "--requests", str(args.requests),
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL, env={**os.environ, _OUT: str(out)})
    finally:
        shutil.rmtree(out, ignore_errors=True)


_TOTALS = re.compile(r"^totals:\s+(\d+)", re.M)


def counted(stage: str, spans: int, run: Callable[[], None]) -> None:
    """Run ``run`` with instrumentation on; print the instructions it executed per span."""
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    run()
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    before = set(Path(os.environ[_OUT]).glob(f"cg.{pid}.*"))
    hint = re.sub(r"\W+", "_", stage)  # callgrind_control passes it through a shell
    subprocess.run(["callgrind_control", "-d", hint, pid], check=True, capture_output=True)
    match = None
    for _ in range(600):  # valgrind writes the dump after it acknowledged the command
        new = set(Path(os.environ[_OUT]).glob(f"cg.{pid}.*")) - before
        match = _TOTALS.search(new.pop().read_text(errors="replace")) if new else None
        if match:
            break
        time.sleep(0.1)
    total = int(match.group(1)) if match else 0
    print(f"{stage:34s} {total / spans:12,.0f} instructions/span  ({total / 1e9:.2f} G)", flush=True)


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from collector_ingest import SPANS_PER_REQUEST, workload_bodies
    from sdk_workload import SPANS_PER_TRACE
    from write_floor import COLUMNS

    from tracelock.collector.exporters.clickhouse.writer import SpanWriter
    from tracelock.collector.processors.normalize.normalize import default_rewrite
    from tracelock.store import apply_migrations
    from tracelock.store.chdb_store import ChdbStore

    n = args.requests
    spans = n * SPANS_PER_REQUEST
    workdir = Path(tempfile.mkdtemp(prefix="tl-irdata-"))
    try:
        store = ChdbStore(workdir / "data")
        apply_migrations(store)
        store.command("SYSTEM STOP MERGES")
        rewrite = default_rewrite()
        bodies = workload_bodies("sdk", 3 * n, SPANS_PER_TRACE)
        print(
            f"{n} requests x {SPANS_PER_REQUEST} spans = {spans} spans per INSERT, workload sdk", flush=True
        )
        writer = SpanWriter(store)
        writer.write(bodies[:n], rewrite)  # warm: the first INSERT of a process loads more
        counted("writer (the collector's)", spans, lambda: writer.write(bodies[n : 2 * n], rewrite))
        store.command("CREATE TABLE otel_traces_null AS otel_traces ENGINE = Null")
        null_writer = SpanWriter(store, table="otel_traces_null")
        counted("convert only (-> Null)", spans, lambda: null_writer.write(bodies[2 * n :], rewrite))
        native = workdir / "rows.native"
        store.command(
            f"INSERT INTO FUNCTION file('{native}', 'Native') SELECT {COLUMNS} FROM otel_traces LIMIT {spans}"
        )
        from_native = f"({COLUMNS}) SELECT * FROM file('{native}', 'Native')"
        counted(
            "floor: table + views", spans, lambda: store.command(f"INSERT INTO otel_traces {from_native}")
        )
        store.command("CREATE TABLE otel_traces_copy AS otel_traces")
        counted(
            "floor: table only", spans, lambda: store.command(f"INSERT INTO otel_traces_copy {from_native}")
        )
        counted("fixed: an empty request", 1, lambda: writer.write([b""], rewrite))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32, help="requests (512 spans each) per INSERT")
    parser.add_argument(CHILD, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    child(args) if args.child else parent(args)


if __name__ == "__main__":
    main()
