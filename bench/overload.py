"""Overload soak: measure a real collector's capacity, then send ``--factor`` x that for ``--seconds``.

    python bench/overload.py --seconds 60 --factor 3
    python bench/overload.py --large-request-mib 1,4,11,16 --memory-limit-mib 1024 --seconds 20

Prints the capacity (spans/s, closed loop until written), the answers per phase (gRPC codes, HTTP probe
codes with Retry-After), baseline and peak RSS of the collector process, how long recovery took, and
acknowledged / found / lost / duplicates, plus the machine. Exit code 1 on any loss or duplicate.

With ``--large-request-mib`` it sends OTLP/HTTP requests of each size instead (``--concurrency`` senders,
``--seconds`` each) and prints peak RSS against the memory_limiter's limit_mib and the recovery time
(tests/soak/large_requests.py); exit code 1 when a peak passes limit_mib by more than 10 % or the
collector refuses while idle.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "soak"))
from crash_harness import collector_process
from large_requests import run_large_requests
from overload_harness import run_overload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the overload phase")
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--max-queue-spans", type=int, default=50_000)
    parser.add_argument("--spans-per-request", type=int, default=200)
    parser.add_argument("--memory-limit-mib", type=int, default=0, help="memory_limiter cap (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--large-request-mib", default="", help="comma list of request sizes (MiB)")
    parser.add_argument("--concurrency", type=int, default=16, help="senders in the large-request mode")
    args = parser.parse_args()
    if args.large_request_mib:
        return large_requests(args)
    workdir = Path(tempfile.mkdtemp(prefix="overload-"))
    limiter = f"{{limit_mib: {args.memory_limit_mib}}}" if args.memory_limit_mib else None
    collector = collector_process(
        workdir, batch=f"{{max_queue_spans: {args.max_queue_spans}}}", memory_limiter=limiter
    )
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    print(
        f"workdir: {workdir}  max_queue_spans={args.max_queue_spans} factor={args.factor} "
        f"memory_limiter={args.memory_limit_mib or 'off'} MiB"
    )
    report = run_overload(
        collector,
        capacity_seconds=10,
        overload_seconds=args.seconds,
        recovery_seconds=15,
        factor=args.factor,
        spans_per_request=args.spans_per_request,
        seed=args.seed,
        log=lambda line: print(line, flush=True),
    )
    print("\n".join(report.lines()))
    return 1 if report.lost or report.duplicates else 0


def large_requests(args: argparse.Namespace) -> int:
    limit = args.memory_limit_mib or 1024
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    failed = False
    for size in [float(s) for s in args.large_request_mib.split(",")]:
        workdir = Path(tempfile.mkdtemp(prefix="overload-large-"))
        collector = collector_process(workdir, memory_limiter=f"{{limit_mib: {limit}}}")
        collector.start()
        try:
            report = run_large_requests(
                collector,
                request_mib=size,
                concurrency=args.concurrency,
                seconds=args.seconds,
                limit_mib=limit,
            )
        finally:
            collector.stop()
        print(report.line(), flush=True)
        failed |= report.peak_mib > 1.1 * limit or report.idle_accepted < 10
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
