"""Start-to-exit time of everyday ``tracelock`` commands, served by a running collector and, as the
baseline measured in the same run, on the same chDB directory with no collector (each process opens chDB).

    python bench/cli_latency.py [--repeat 7] [--traces 200]

Setup (not timed): a collector subprocess on a fresh data directory gets ``--traces`` refund-bot traces
from the OpenTelemetry SDK over OTLP/HTTP, one is locked (``lock add --trace-id``). Then each command runs
``--repeat`` times as a fresh process (``python -m tracelock ...``), first while the collector owns the
directory, then after it stopped. ``python -c pass`` is the interpreter's own floor. Figures are the
median and the fastest run; the goal is <= 0.4 s for a command served by the collector.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from collector_support import CollectorProcess, write_config

GOAL_SECONDS = 0.4
#: The commands run as an installed tracelock runs: with its bytecode cached. PYTHONDONTWRITEBYTECODE
#: (set in some sandboxes and CI images) would make every run compile tracelock's modules again.
COMMAND_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _send_traffic(endpoint: str, traces: int) -> str:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "refund-bot"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    tracer = provider.get_tracer("bench")
    question = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "refund please"}]}])
    trace_id = ""
    for i in range(traces):
        prompt = "refund-v4" if i % 2 else "refund-v5"
        with tracer.start_as_current_span("POST /refund") as root:
            root.set_attribute("tracelock.customer.tier", ("smb", "enterprise")[i % 2])
            with tracer.start_as_current_span("chat gpt-4o") as span:
                span.set_attribute("gen_ai.prompt.version", prompt)
                span.set_attribute("gen_ai.input.messages", question)
                span.set_attribute("tracelock.intent", "refund")
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(workdir: Path, data_dir: Path, args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the command's process (user + system) and its exit code."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", str(data_dir), *args],
        cwd=workdir,
        capture_output=True,
        check=False,
        env=COMMAND_ENV,
    )
    return time.perf_counter() - started, _children_cpu() - cpu, done.returncode


def _floor(repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--traces", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="cli-latency-") as tmp:
        workdir = Path(tmp)
        collector = CollectorProcess(workdir, write_config(workdir / "collector.yaml"))
        collector.start()
        try:
            trace_id = _send_traffic(collector.http, args.traces)
            time.sleep(1.0)  # the batch processor's timeout: the last spans are written
            lock = ["lock", "add", "--trace-id", trace_id, "--dataset", "refund", "--case-id", "bench-case"]
            _time(workdir, collector.data_dir, lock)
            versions = ["--baseline", "prompt=refund-v4", "--candidate", "prompt=refund-v5"]
            commands: dict[str, list[str]] = {
                "query": ["query", "SELECT count() FROM otel_traces"],
                "feedback add": ["feedback", "add", "--trace-id", trace_id, "--kind", "thumbs_up"],
                "report divergence": ["report", "divergence", *versions],
                "lock show": ["lock", "show", "bench-case"],
            }
            for argv in commands.values():  # untimed: bytecode written, page cache warm
                _time(workdir, collector.data_dir, argv)
            served = {name: [_time(workdir, collector.data_dir, argv) for _ in range(args.repeat)]
                      for name, argv in commands.items()}  # fmt: skip
        finally:
            collector.terminate()
        direct = {name: [_time(workdir, collector.data_dir, argv) for _ in range(args.repeat)]
                  for name, argv in commands.items()}  # fmt: skip
    floor = _floor(args.repeat)
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"runs per figure: {args.repeat}; python -c pass: median {statistics.median(floor):.3f} s")
    print("wall: median (fastest) of the runs; cpu: median user+system seconds of the command's process")
    print(f"{'command':18s} {'via collector: wall':>22s} {'cpu':>6s} {'direct chDB: wall':>22s} {'cpu':>6s}"
          f" {'wall ratio':>10s}  exit")  # fmt: skip
    for name in commands:
        via, base = served[name], direct[name]
        via_wall, base_wall = [r[0] for r in via], [r[0] for r in base]
        codes = sorted({r[2] for r in via + base})
        print(
            f"{name:18s} {statistics.median(via_wall):12.3f} s ({min(via_wall):.3f})"
            f" {statistics.median(r[1] for r in via):6.3f}"
            f" {statistics.median(base_wall):12.3f} s ({min(base_wall):.3f})"
            f" {statistics.median(r[1] for r in base):6.3f}"
            f" {statistics.median(base_wall) / statistics.median(via_wall):9.1f}x  {codes}"
            + ("" if statistics.median(via_wall) <= GOAL_SECONDS else f"  (goal {GOAL_SECONDS} s)")
        )


if __name__ == "__main__":
    main()
