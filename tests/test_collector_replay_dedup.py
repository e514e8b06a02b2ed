"""Exactly once after a crash, at a cost independent of the stored table (issue 14, item 5).

On real chDB, in-process: the WAL, the pipeline and the ClickHouse exporter as the collector wires
them (the graph's part is two calls, reproduced here). Checked failing on main a11d664: for five
minutes after an unclean stop every batch insert scanned ``otel_traces`` for the trace ids it held.
"""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.collector.component import Settings, SpanBatch
from tracelock.collector.exporters.clickhouse.clickhouse import ClickHouseExporter
from tracelock.collector.exporters.clickhouse.config import ClickHouseExporterConfig
from tracelock.collector.host import Host
from tracelock.collector.load import load_request
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.pipeline import Pipeline
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.wal import WriteAheadLog
from tracelock.store import Store, StoreSettings


def spans_request(service: str, n: int) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = service
    spans = rs.scope_spans.add().spans
    for i in range(n):
        spans.add(
            trace_id=os.urandom(16), span_id=os.urandom(8), name="s", start_time_unix_nano=1_700_000_000 + i
        )
    return request.SerializeToString()


def _count(payload: bytes) -> int:
    return sum(
        len(ss.spans)
        for rs in ExportTraceServiceRequest.FromString(payload).resource_spans
        for ss in rs.scope_spans
    )


def _selected_rows(store: Store) -> int:
    return int(store.query("SELECT value FROM system.events WHERE event = 'SelectedRows'").scalar() or 0)


def _exporter(store: Store, tmp_path: Path) -> ClickHouseExporter:
    exporter = ClickHouseExporter(Settings.create("exporter", "clickhouse"), ClickHouseExporterConfig())
    settings = StoreSettings(data_dir=tmp_path, database=store.database)
    exporter.start(Host(settings, _stores={settings: store}))
    return exporter


def _unclean_wal(directory: Path, bodies: list[bytes]) -> WriteAheadLog:
    first = WriteAheadLog(directory, fsync=False)
    first.open()
    for body in bodies:
        first.append(body)
    first.close(clean=False)
    return WriteAheadLog(directory, fsync=False)


def _service_spans(store: Store, service: str) -> int:
    return int(store.query(f"SELECT count() FROM otel_traces WHERE ServiceName = '{service}'").scalar())


def test_writes_after_an_unclean_stop_do_not_scan_the_stored_spans(store: Store, tmp_path: Path) -> None:
    for _ in range(5):
        load_request(store, spans_request("stored", 8192))  # 40 960 rows, five granules and more
    exporter = _exporter(store, tmp_path)
    wal = _unclean_wal(tmp_path / "wal", [spans_request("replayed", 3)])
    pending = wal.open()
    assert not wal.previous_stop_was_clean
    exporter.after_unclean_stop()  # as the graph does
    pipeline = Pipeline([], exporter, BatchConfig(timeout=0.01), wal, CollectorMetrics())
    pipeline.start()
    try:
        pipeline.replay(pending, _count)
        assert pipeline.wait_idle(60)
        before = _selected_rows(store)
        pipeline.ingest(spans_request("after-crash", 2000), 2000)
        assert pipeline.wait_idle(60)
        read = _selected_rows(store) - before
    finally:
        pipeline.drain(10)
        wal.close()
    assert _service_spans(store, "after-crash") == 2000 and _service_spans(store, "replayed") == 3
    assert read < 10_000, f"writing 2000 spans after the unclean stop read {read} stored rows"


def test_a_batch_stored_just_before_a_crash_is_replayed_once(store: Store, tmp_path: Path) -> None:
    """The insert committed, the checkpoint did not move: the replay carries the same token."""
    exporter = _exporter(store, tmp_path)
    body = spans_request("crash-window", 50)
    wal = WriteAheadLog(tmp_path / "wal", fsync=False)
    wal.open()
    seq = wal.append(body)
    token = wal.begin((seq,))
    exporter.consume(SpanBatch(bodies=(body,), span_count=50, wal_seqs=(seq,), dedup_token=token))
    wal.close(clean=False)  # killed here: stored, not marked written

    again = WriteAheadLog(tmp_path / "wal", fsync=False)
    pending = again.open()
    assert again.inflight == [(token, [seq])]
    pipeline = Pipeline([], exporter, BatchConfig(timeout=0.01), again, CollectorMetrics())
    pipeline.start()
    try:
        assert pipeline.replay(pending, _count) == 50
        assert pipeline.wait_idle(60)
        pipeline.ingest(body, 50)  # and the client's resend of the same request
        assert pipeline.wait_idle(60)
    finally:
        pipeline.drain(10)
        again.close()
    assert _service_spans(store, "crash-window") == 50
    summaries = store.query(
        "SELECT sum(SpanCount) FROM trace_summaries_final WHERE ServiceName = 'crash-window'"
    ).scalar()
    assert int(summaries) == 50  # the views skipped the replayed block too
    assert not list((tmp_path / "wal").glob("inflight-*"))  # checkpointed: nothing left to replay
