"""The whole loop on a running system: every write goes through the collector that owns the chDB directory.

App traffic (the real OpenTelemetry SDK over OTLP/HTTP) reaches a ``tracelock collector`` subprocess; then
feedback, ``seeds run``, ``lock add``, ``eval import``, ``lock check --record`` and both reports run as
separate ``tracelock`` processes on the same data directory, and the collector is never stopped. Each
write is then found in the store (read through the collector, as a user would).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, run_cli, started_collector

QUESTION = "Refund the unused months of our enterprise contract"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    with started_collector(tmp_path_factory.mktemp("loop")) as process:
        yield process


def _app_traffic(endpoint: str) -> str:
    """One production trace of a refund bot, sent by the SDK's OTLP/HTTP exporter; its trace id."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "refund-bot", "gen_ai.prompt.version": "refund-v4"})
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    tracer = provider.get_tracer("loop-e2e")
    question = [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": '{"refund": 1200'}]}]
    with tracer.start_as_current_span("POST /refund") as root:
        root.set_attribute("tracelock.customer.tier", "enterprise")
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.input.messages", json.dumps(question))
            span.set_attribute("gen_ai.output.messages", json.dumps(answer))
            span.set_attribute("tracelock.intent", "refund")
    provider.shutdown()
    return format(root.get_span_context().trace_id, "032x")


def _wait_for(data_dir: Path, sql: str, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = query(data_dir, sql)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_the_whole_loop_runs_while_the_collector_owns_the_data(
    collector: CollectorProcess, tmp_path: Path
) -> None:
    data = collector.data_dir
    trace_id = _app_traffic(f"{collector.http}/v1/traces")
    assert _wait_for(data, f"SELECT SpanId FROM otel_traces WHERE TraceId = '{trace_id}'")
    outputs = []

    def cli(*args: str) -> str:
        done = run_cli(data, *args)
        outputs.append(done.stdout + done.stderr)
        return done.stdout

    cli("feedback", "add", "--trace-id", trace_id, "--kind", "complaint", "--comment", "answer cut off")
    cli("seeds", "run", "--since", "1h")
    seeds = json.loads(cli("seeds", "list", "--rule", "complaint-linked-trace", "--format", "json"))
    seed_id = next(s["SeedId"] for s in seeds if s["TraceId"] == trace_id)

    locks = tmp_path / "locks"
    cli("lock", "add", seed_id, "--dataset", "refund", "--case-id", "enterprise-refund",
        "--expect", "contains:1200", "--locks", str(locks))  # fmt: skip

    provenance = (locks / "refund.yaml").read_text()
    assert f"store: chdb:{data.resolve()}" in provenance, "provenance names the store, not the collector"
    results = tmp_path / "results.jsonl"
    record = {"run_id": "ci-7", "dataset_id": "refund", "case_id": "enterprise-refund", "passed": True,
              "output": '{"refund": 1200, "currency": "EUR"}',
              "keys": {"gen_ai.prompt.version": "refund-v5"}, "labels": {"intent": "refund"}}  # fmt: skip
    results.write_text(json.dumps(record) + "\n")
    cli("eval", "import", str(results))
    cli("lock", "check", "--results", str(results), "--release", "v5", "--locks", str(locks))
    cli("report", "divergence", "--baseline", "prompt=refund-v4", "--candidate", "prompt=refund-v5")
    cli("report", "coverage")

    assert collector.proc is not None and collector.proc.poll() is None, "the collector was stopped"
    for text in outputs:
        assert "stop the collector" not in text
        assert "not recorded" not in text and "not mirrored" not in text, text

    feedback = query(data, f"SELECT Kind FROM feedback FINAL WHERE TraceId = '{trace_id}'")
    assert [r["Kind"] for r in feedback] == ["complaint"]
    assert query(data, f"SELECT count() AS n FROM seeds FINAL WHERE SeedId = '{seed_id}'") == [{"n": 1}]
    mirrored = query(data, "SELECT SourceTraceId, SeedId FROM locks FINAL WHERE CaseId = 'enterprise-refund'")
    assert mirrored == [{"SourceTraceId": trace_id, "SeedId": seed_id}]
    evals = query(data, "SELECT CaseId, PromptVersion FROM eval_records FINAL WHERE EvalRunId = 'ci-7'")
    assert evals == [{"CaseId": "enterprise-refund", "PromptVersion": "refund-v5"}]
    gate = query(data, "SELECT Status, ReleaseTag FROM lock_results WHERE CaseId = 'enterprise-refund'")
    assert gate == [{"Status": "passed", "ReleaseTag": "v5"}]


_MODULES_AT_EXIT = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from tracelock.cli.main import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "args",
    [
        ("query", "SELECT count() FROM otel_traces"),
        ("feedback", "add", "--trace-id", "ab" * 16, "--kind", "thumbs_up"),
        ("report", "divergence", "--baseline", "prompt=refund-v4", "--candidate", "prompt=refund-v5"),
        ("report", "coverage"),
        ("lock", "show", "no-such-case"),
        ("seeds", "list"),
        ("eval", "runs"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_command_served_by_the_collector_loads_neither_chdb_nor_heavy_libraries(
    collector: CollectorProcess, tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MODULES_AT_EXIT, "--data-dir", str(collector.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    modules = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    assert "chdb" not in modules, done.stderr[:2000]
    assert "tracelock.store.remote_store" in modules
    # nor the libraries that cost a start-up more than the command's own work (issue 16: <= 0.4 s)
    heavy = {"typer", "pydantic", "httpx", "clickhouse_connect"}
    assert heavy.isdisjoint(modules), sorted(heavy & set(modules))
