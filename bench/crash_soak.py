"""Crash soak: SIGKILL a real ``tracelock collector`` >= 20 times while the OTel SDK streams spans into it.

    python bench/crash_soak.py --kills 25 --protocol grpc --rate 800
    python bench/crash_soak.py --burst   # a burst after a kill, to queryable (bench/burst_after_kill.py)

Prints runs / kills / spans created / acknowledged (the SDK exporter returned SUCCESS) / found in
otel_traces / lost (acknowledged, not stored) / duplicates (span ids stored more than once), and the
machine. Exit code 1 when anything acknowledged was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "soak"))
from crash_harness import collector_process, run_crash_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    parser.add_argument("--rate", type=float, default=800, help="spans created per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-up", type=float, default=0.2, help="shortest life of a collector run (s)")
    parser.add_argument("--max-up", type=float, default=3.0, help="longest life of a collector run (s)")
    parser.add_argument("--workdir", type=Path, default=None, help="kept for inspection when given")
    parser.add_argument(
        "--exporter", default="{}", help="clickhouse exporter config, e.g. '{num_consumers: 2}'"
    )
    parser.add_argument("--burst", action="store_true", help="measure the post-kill burst instead")
    parser.add_argument("--stored", type=int, default=200_000, help="--burst: spans stored before the stop")
    parser.add_argument("--burst-spans", type=int, default=100_000, help="--burst: spans sent after it")
    args = parser.parse_args()
    if args.burst:
        return _burst(args.stored, args.burst_spans)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crash-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    collector = collector_process(workdir, exporter=args.exporter)
    if args.protocol == "grpc":

        def make() -> GrpcExporter:
            return GrpcExporter(endpoint=f"127.0.0.1:{collector.grpc_port}", insecure=True, timeout=20)
    else:

        def make() -> HttpExporter:
            return HttpExporter(endpoint=f"http://127.0.0.1:{collector.http_port}/v1/traces", timeout=20)

    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    print(
        f"workdir: {workdir}  protocol: {args.protocol}  rate: {args.rate}/s  seed: {args.seed}  "
        f"exporter: {args.exporter}"
    )
    report = run_crash_soak(
        collector,
        make,
        data_dir=collector.data_dir,
        kills=args.kills,
        rate=args.rate,
        up_seconds=(args.min_up, args.max_up),
        seed=args.seed,
        log=lambda message: print(message, flush=True),
    )
    print(report.line())
    if report.lost or report.duplicates:
        print(f"FAILED: lost ids (first 20): {report.lost_ids}\nlog tail:\n{collector.log_tail()}")
        return 1
    return 0


def _burst(stored: int, burst: int) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from burst_after_kill import burst_after_stop

    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    clean = burst_after_stop(stored, burst, unclean=False)
    unclean = burst_after_stop(stored, burst, unclean=True)
    print(
        f"burst of {burst} spans with {stored} stored: queryable in {clean:.1f} s after a clean stop, "
        f"{unclean:.1f} s after SIGKILL (ratio {unclean / clean:.2f}); load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
