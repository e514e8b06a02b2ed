"""The complaint -> seed -> lock -> gate loop, timed on this machine (each step a real `tracelock` run).

    python bench/lock_loop.py [--keep DIR]

Setup (not timed): a production trace made with the OpenTelemetry SDK is written into a fresh chDB data
directory exactly as the collector writes it. Then, timed one by one:
    tracelock feedback add --trace-id T --kind complaint ...      (the complaint)
    tracelock seeds run                                           (the complaint seeds the trace)
    tracelock seeds list --rule complaint-linked-trace -f json    (look up the seed id)
    tracelock lock add SEED_ID --dataset refund --expect ...      (the lock)
    tracelock lock check --results failing.jsonl   -> exit 1, names the case and its source trace
    tracelock lock check --results passing.jsonl   -> exit 0
The test tests/test_lock_loop.py runs the same loop through :func:`run_loop`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LoopRun", "run_loop"]

MAKE_TRACE = r"""
import json, sys
from pathlib import Path
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from tracelock.collector.load import load_request
from tracelock.store import StoreSettings, apply_migrations, open_store

exporter = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({
    "service.name": "refund-bot", "gen_ai.prompt.version": "refund-v4", "gen_ai.request.model": "gpt-4o",
}))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("bench")
text = "Refund the unused months of our enterprise contract"
question = [{"role": "user", "parts": [{"type": "text", "content": text}]}]
answer = [{"role": "assistant", "parts": [{"type": "text", "content": "{\"refund\": 1200, \"currency\""}]}]
with tracer.start_as_current_span("POST /refund") as root:
    root.set_attribute("tracelock.customer.tier", "enterprise")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.input.messages", json.dumps(question))
        span.set_attribute("gen_ai.output.messages", json.dumps(answer))
        span.set_attribute("tracelock.intent", "refund")
        span.set_attribute("tracelock.parse_failure", True)
        span.set_attribute("gen_ai.usage.input_tokens", 5200)
trace_id = format(root.get_span_context().trace_id, "032x")
store = open_store(StoreSettings(data_dir=Path(sys.argv[1])))
apply_migrations(store)
load_request(store, encode_spans(exporter.get_finished_spans()))
store.close()
print(trace_id)
"""


@dataclass
class LoopRun:
    trace_id: str
    seed_id: str = ""
    case_id: str = ""
    steps: list[tuple[str, float, int]] = field(default_factory=list)
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds, _ in self.steps)


def _tracelock(workdir: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, COLUMNS="200", TRACELOCK_DATA_DIR=str(workdir / "data"))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tracelock", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, time.perf_counter() - started


def _step(run: LoopRun, workdir: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    done, seconds = _tracelock(workdir, *args)
    run.steps.append((name, seconds, done.returncode))
    run.outputs[name] = done
    return done


def run_loop(workdir: Path) -> LoopRun:
    """Run the loop in ``workdir`` (a fresh directory); each step's output is kept for the caller's checks."""
    made = subprocess.run(
        [sys.executable, "-c", MAKE_TRACE, str(workdir / "data")], capture_output=True, text=True, check=True
    )
    run = LoopRun(trace_id=made.stdout.strip())
    _step(run, workdir, "feedback add", "feedback", "add", "--trace-id", run.trace_id, "--kind", "complaint",
          "--comment", "the refund answer was cut off")  # fmt: skip
    _step(run, workdir, "seeds run", "seeds", "run")
    listed = _step(
        run, workdir, "seeds list", "seeds", "list", "--rule", "complaint-linked-trace", "-f", "json"
    )
    seeds = [s for s in json.loads(listed.stdout or "[]") if s["TraceId"] == run.trace_id]
    if not seeds:
        return run
    run.seed_id = seeds[0]["SeedId"]
    run.case_id = "enterprise-refund-json"
    schema = 'json_schema:{"type": "object", "required": ["refund", "currency"]}'
    _step(run, workdir, "lock add", "lock", "add", run.seed_id, "--dataset", "refund",
          "--case-id", run.case_id, "--expect", schema, "--expect", "output_tokens<=800")  # fmt: skip
    common = {"run_id": "ci-7", "case_id": run.case_id, "dataset_id": "refund", "output_tokens": 40}
    failing = workdir / "failing.jsonl"
    failing.write_text(json.dumps({**common, "output": '{"refund": 1200, "currency"'}) + "\n")
    passing = workdir / "passing.jsonl"
    passing.write_text(json.dumps({**common, "output": {"refund": 1200, "currency": "EUR"}}) + "\n")
    _step(run, workdir, "lock check (failing)", "lock", "check", "--results", str(failing), "--release", "v5")
    _step(run, workdir, "lock check (passing)", "lock", "check", "--results", str(passing), "--release", "v5")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="Run in this directory and keep it.")
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"python: {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="lock-loop-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        run = run_loop(workdir)
    for name, seconds, code in run.steps:
        print(f"{name:24s} {seconds:6.2f} s  exit {code}")
    print(f"{'total':24s} {run.total:6.2f} s  (goal <= 60 s)")


if __name__ == "__main__":
    main()
