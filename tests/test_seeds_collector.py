"""The seed sampler inside a real ``tracelock collector`` subprocess, fed by the OpenTelemetry SDK over
OTLP/HTTP; then ``tracelock seeds run/list/export`` as separate processes on the same data directory.
A bad rules file keeps the collector from starting, with the rules error."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import TRACELOCK, CollectorProcess, query, run_cli

RULES = """\
version: 1
rules:
  - name: empty-retrieval
    level: span
    condition: tracelock.retrieval.empty
  - name: complaint-linked-trace
    level: trace
    condition: feedback.complaint
"""


def _config(workdir: Path, rules: Path) -> Path:
    path = workdir / "collector.yaml"
    path.write_text(
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        "      http: {endpoint: '127.0.0.1:0'}\n"
        "processors:\n"
        "  normalize: {}\n"
        f"  seed_sampler: {{rules: '{rules}', trace_rules_every: 1s, settle: 0s, lookback: 1h}}\n"
        "  batch: {timeout: 0.05}\n"
        "exporters: {clickhouse: {}}\n"
        "service:\n"
        "  pipelines:\n"
        "    traces:\n"
        "      {receivers: [otlp], processors: [normalize, seed_sampler, batch], exporters: [clickhouse]}\n"
    )
    return path


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    workdir = tmp_path_factory.mktemp("seeds")
    rules = workdir / "rules.yaml"
    rules.write_text(RULES)
    process = CollectorProcess(workdir, _config(workdir, rules))
    process.start()
    yield process
    process.close()


def _send(endpoint: str) -> tuple[str, str]:
    provider = TracerProvider(resource=Resource.create({"service.name": "refund-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    tracer = provider.get_tracer("seeds-e2e")
    attrs = {
        "tracelock.feature": "refund",
        "gen_ai.prompt.version": "refund-v4",
        "tracelock.intent": "refund",
    }
    with tracer.start_as_current_span("support", attributes=attrs) as root:
        with tracer.start_as_current_span("retrieve", attributes={"tracelock.retrieval.empty": True}) as span:
            retrieval = span.get_span_context().span_id
        with tracer.start_as_current_span(
            "chat",
            attributes={"tracelock.feedback.complaint": True, "gen_ai.output.messages": '"sorry"'},
        ):
            pass
        trace = root.get_span_context().trace_id
    provider.shutdown()
    return f"{trace:032x}", f"{retrieval:016x}"


def _wait_for(data_dir: Path, sql: str, count: int) -> list[dict]:
    rows: list[dict] = []
    for _ in range(60):
        rows = query(data_dir, sql)
        if len(rows) >= count:
            return rows
        time.sleep(0.5)
    return rows


def test_collector_seeds_spans_and_traces_then_batch_adds_nothing(collector: CollectorProcess) -> None:
    trace, retrieval = _send(collector.http + "/v1/traces")
    seeds = _wait_for(
        collector.data_dir, "SELECT Rule, TraceId, SpanId, Mode FROM seeds FINAL ORDER BY Rule", count=2
    )
    assert seeds == [
        {"Rule": "complaint-linked-trace", "TraceId": trace, "SpanId": "", "Mode": "online"},
        {"Rule": "empty-retrieval", "TraceId": trace, "SpanId": retrieval, "Mode": "online"},
    ]
    stamped = query(
        collector.data_dir,
        "SELECT SpanName, SpanAttributes['tracelock.seed.rules'] AS rules FROM otel_traces "
        "WHERE SpanAttributes['tracelock.seed.rules'] != ''",
    )
    assert stamped == [{"SpanName": "retrieve", "rules": "empty-retrieval"}]
    rules = collector.config.parent / "rules.yaml"
    live = ["seeds", "run", "--rules", str(rules), "--since", "1h", "--dry-run", "--format", "json"]
    out = run_cli(collector.data_dir, *live)  # read-only, through the running collector
    assert {r["rule"]: (r["matched"], r["new"]) for r in json.loads(out.stdout)} == {
        "empty-retrieval": (1, 0),
        "complaint-linked-trace": (1, 0),
    }
    listed = json.loads(run_cli(collector.data_dir, "seeds", "list", "--format", "json").stdout)
    assert sorted(r["Rule"] for r in listed) == ["complaint-linked-trace", "empty-retrieval"]
    metrics = httpx.get(collector.http + "/metrics").text
    assert 'tracelock_seed_sampler_seeds_total{mode="online",rule="empty-retrieval"} 1.0' in metrics
    assert 'tracelock_seed_sampler_seeds_total{mode="online",rule="complaint-linked-trace"} 1.0' in metrics
    code, _ = collector.terminate()
    assert code == 0
    out = run_cli(
        collector.data_dir, "seeds", "run", "--rules", str(rules), "--since", "1h", "--format", "json"
    )
    assert {r["rule"]: (r["matched"], r["new"]) for r in json.loads(out.stdout)} == {
        "empty-retrieval": (1, 0),
        "complaint-linked-trace": (1, 0),
    }
    listed = json.loads(run_cli(collector.data_dir, "seeds", "list", "--format", "json").stdout)
    assert {r["Rule"] for r in listed} == {"empty-retrieval", "complaint-linked-trace"}
    exported = run_cli(collector.data_dir, "seeds", "export", "--rule", "complaint-linked-trace").stdout
    (row,) = [json.loads(line) for line in exported.splitlines()]
    provenance = row["provenance"]
    assert provenance["source_trace_id"] == trace and provenance["observed_output"] == "sorry"
    assert row["keys"] == {"gen_ai.prompt.version": "refund-v4"}
    assert row["labels"] == {"tracelock.feature": "refund", "tracelock.intent": "refund"}
    assert provenance["matched"] == {"feedback.complaint": "true"}


def test_a_bad_rules_file_keeps_the_collector_from_starting(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: a\n    condition: tracelock.retreival.empty\n")
    config = _config(tmp_path, rules)
    out = subprocess.run(
        [*TRACELOCK, "--data-dir", str(tmp_path / "data"), "collector", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    message = " ".join(out.stderr.split())
    assert f"{rules}:4: rule 'a': condition: unknown attribute 'tracelock.retreival.empty'" in message
