"""Nothing acknowledged is lost: SIGKILL with acknowledged spans only in the WAL, a replay that must not
duplicate, backpressure when the queue is full, and SIGTERM draining what was acknowledged.

Spans are sent by the real OTel SDK exporters; a span counts as acknowledged when the exporter's
``export`` returned SUCCESS for the batch that held it.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import CollectorProcess, query, run_cli, write_config
from test_collector_bad_input import PROTOBUF, make_request

from tracelock.collector.wal import WriteAheadLog

SLOW_BATCH = "{timeout: 60, send_batch_size: 1000000}"  # nothing is written before a stop


def make_spans(service: str, n: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("durability")
    for i in range(n):
        with tracer.start_as_current_span("llm", attributes={"gen_ai.request.model": "m", "i": i}):
            pass
    return list(memory.get_finished_spans())


def export_all(exporter: object, spans: Sequence[ReadableSpan], batch: int = 50) -> set[str]:
    """Export in batches; return the span ids of every acknowledged batch."""
    acked: set[str] = set()
    for start in range(0, len(spans), batch):
        chunk = spans[start : start + batch]
        if exporter.export(chunk) is SpanExportResult.SUCCESS:  # type: ignore[attr-defined]
            acked |= {format(s.context.span_id, "016x") for s in chunk}
    return acked


def stored_counts(data_dir: Path, service: str) -> dict[str, int]:
    rows = query(
        data_dir,
        f"SELECT SpanId, count() AS n FROM otel_traces WHERE ServiceName = '{service}' GROUP BY SpanId",
    )
    return {r["SpanId"]: r["n"] for r in rows}


def _mark_inflight(wal_dir: Path, token: str) -> None:
    """What the killed run would have left had it begun inserting its pending records as one batch."""
    wal = WriteAheadLog(wal_dir, fsync=False)
    seqs = wal.open()
    wal.close(clean=False)
    (wal_dir / f"inflight-{token}").write_text(json.dumps(seqs))


@pytest.mark.parametrize("exporter", ["{}", "{num_consumers: 2}"], ids=["one-writer", "two-writers"])
def test_sigkill_then_restart_finds_every_acknowledged_span_once(tmp_path: Path, exporter: str) -> None:
    slow = write_config(tmp_path / "slow.yaml", batch=SLOW_BATCH, exporter=exporter)
    collector = CollectorProcess(tmp_path, slow)
    collector.start()
    acked = export_all(
        GrpcExporter(endpoint=collector.grpc, insecure=True, timeout=10), make_spans("kill", 300)
    )
    acked |= export_all(
        HttpExporter(endpoint=collector.http + "/v1/traces", timeout=10), make_spans("kill", 200)
    )
    assert len(acked) == 500
    collector.kill()  # acknowledged spans are only in the WAL now
    wal_dir = collector.data_dir / "collector" / "wal"
    _mark_inflight(wal_dir, "0123456789abcdef0123456789abcdef")
    wal_copy = tmp_path / "wal-at-kill"
    shutil.copytree(wal_dir, wal_copy)

    collector.config = write_config(
        tmp_path / "fast.yaml", batch="{timeout: 0.05, send_batch_size: 100}", exporter=exporter
    )
    ready = collector.start()
    assert ready["replayed_spans"] == 500
    code, final = collector.terminate()
    assert code == 0 and final["drained"] is True
    counts = stored_counts(collector.data_dir, "kill")
    assert set(counts) == acked and set(counts.values()) == {1}

    # A crash after the insert but before the checkpoint moved: the WAL as it was then (the records
    # pending, the batch's in-flight record naming them) replays again, under the same insert token.
    shutil.rmtree(collector.data_dir / "collector" / "wal")
    shutil.copytree(wal_copy, collector.data_dir / "collector" / "wal")
    ready = collector.start()
    assert ready["replayed_spans"] == 500
    collector.terminate()
    counts = stored_counts(collector.data_dir, "kill")
    assert set(counts) == acked and set(counts.values()) == {1}, "replay duplicated spans"
    summary = query(
        collector.data_dir, "SELECT sum(SpanCount) AS n FROM trace_summaries_final WHERE ServiceName = 'kill'"
    )
    assert summary[0]["n"] == 500


def test_full_queue_refuses_with_retry_signal_and_sigterm_drains(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml", batch="{timeout: 60, send_batch_size: 1000000, max_queue_spans: 50}"
    )
    collector = CollectorProcess(tmp_path, config)
    collector.start()
    first = httpx.post(collector.http + "/v1/traces", content=make_request("drain", 40), headers=PROTOBUF)
    assert first.status_code == 200
    refused = httpx.post(collector.http + "/v1/traces", content=make_request("drain", 40), headers=PROTOBUF)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    with grpc.insecure_channel(collector.grpc) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        try:
            export(make_request("drain", 40), timeout=10)
            raise AssertionError("a full queue must refuse")
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "queue full" in exc.details()
    metrics = httpx.get(collector.http + "/metrics").text
    assert 'tracelock_collector_spans_refused_total{reason="queue_full"} 80.0' in metrics
    assert "tracelock_collector_queue_spans 40.0" in metrics
    ready = httpx.get(collector.http + "/readyz")
    assert ready.json() == {"ready": True, "queued_spans": 40}

    code, final = collector.terminate()  # the 40 acknowledged spans wait for a 60 s timeout: SIGTERM drains
    assert code == 0 and final == {"status": "stopped", "drained": True, "spans_written": 40.0}
    rows = query(collector.data_dir, "SELECT count() AS n FROM otel_traces WHERE ServiceName = 'drain'")
    assert rows[0]["n"] == 40
    status = run_cli(collector.data_dir, "query", "SELECT 1", check=False)
    assert status.returncode == 0  # the directory is free again: no collector.json left behind
    assert not (collector.data_dir / "collector.json").exists()


def test_full_queue_waits_for_room_before_refusing(tmp_path: Path) -> None:
    """A request that meets a full queue waits (``queue_wait``) for the writer to make room and is then
    accepted. When ``queue_waiters`` requests already wait, the next is refused at once, before it is
    decoded, however long ``queue_wait`` is."""
    config = write_config(
        tmp_path / "c.yaml",
        batch="{timeout: 1.0, send_batch_size: 1000000, max_queue_spans: 50, queue_wait: 10}",
    )
    collector = CollectorProcess(tmp_path, config)
    collector.start()
    try:
        assert httpx.post(
            collector.http + "/v1/traces", content=make_request("wait", 40), headers=PROTOBUF
        ).is_success
        # 40 + 40 > 50: waits until the 1 s batch timeout writes the first 40, then fits.
        second = httpx.post(
            collector.http + "/v1/traces", content=make_request("wait", 40), headers=PROTOBUF, timeout=30
        )
        assert second.status_code == 200, second.text
        metrics = httpx.get(collector.http + "/metrics").text
        assert 'reason="queue_full"' not in metrics
    finally:
        collector.terminate()
    rows = query(collector.data_dir, "SELECT count() AS n FROM otel_traces WHERE ServiceName = 'wait'")
    assert rows[0]["n"] == 80

    config = write_config(
        tmp_path / "c0.yaml",
        batch="{timeout: 60, send_batch_size: 1000000, max_queue_spans: 40, "
        "queue_wait: 20, queue_waiters: 0}",
    )
    (tmp_path / "zero").mkdir()
    collector = CollectorProcess(tmp_path / "zero", config)
    collector.start()
    try:
        assert httpx.post(
            collector.http + "/v1/traces", content=make_request("zero", 40), headers=PROTOBUF
        ).is_success
        started = time.monotonic()
        refused = httpx.post(
            collector.http + "/v1/traces", content=b"\xff not even protobuf", headers=PROTOBUF
        )
        assert time.monotonic() - started < 10, "no waiting slot: refused without waiting queue_wait"
        assert refused.status_code == 429, "a full queue refuses before decoding (no 400 for this body)"
        metrics = httpx.get(collector.http + "/metrics").text
        assert (
            'tracelock_collector_requests_refused_total{reason="queue_full",transport="http"} 1.0' in metrics
        )
    finally:
        collector.terminate()
