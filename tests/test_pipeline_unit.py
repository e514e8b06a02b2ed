"""The pipeline's logic on an in-memory sink (no chDB, no subprocess): batching, retry classes,
quarantine by bisection, backpressure, drain order, the stalled-writer signal and an honest drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tracelock.collector.component import SpanBatch
from tracelock.collector.exporterhelper import DeadLetters, RetryPolicy, is_permanent
from tracelock.collector.metrics import CollectorMetrics
from tracelock.collector.pipeline import Pipeline
from tracelock.collector.processors.batch.config import BatchConfig
from tracelock.collector.testing import MemorySink
from tracelock.collector.wal import WriteAheadLog
from tracelock.errors import InputError, Overloaded, QueryError, StoreUnavailable

FAST = RetryPolicy(initial=0.01, max_interval=0.05)


def request(i: int) -> bytes:
    return f"request-{i:04d}".encode()  # the sink does not parse; each body counts as one span


def make_pipeline(tmp_path: Path, sink: MemorySink, **batch: object) -> Pipeline:
    wal = WriteAheadLog(tmp_path / "wal", fsync=False)
    wal.open()
    config = BatchConfig(**{"timeout": 0.01, "send_batch_size": 1000, "queue_wait": 0, **batch})
    return Pipeline([], sink, config, wal, CollectorMetrics(), retry=FAST, stall_after=0.3)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink(poison=b"POISON")


@pytest.fixture
def pipeline(tmp_path: Path, sink: MemorySink) -> Iterator[Pipeline]:
    p = make_pipeline(tmp_path, sink)
    p.start()
    yield p
    sink.down, sink.poison = False, None
    sink.gate.set()
    p.drain(5.0)
    p.wal.close()


def test_requests_are_batched_and_written_in_order(tmp_path: Path, sink: MemorySink) -> None:
    p = make_pipeline(tmp_path, sink, send_batch_size=4, timeout=5)
    sink.gate.clear()
    p.start()
    for i in range(10):
        p.ingest(request(i), 1)
    sink.gate.set()
    assert p.drain(5.0)
    assert sink.bodies == [request(i) for i in range(10)]
    assert max(len(b.bodies) for b in sink.batches) == 4 and len(sink.batches) >= 3


def test_retryable_errors_are_retried_until_the_store_is_back(pipeline: Pipeline, sink: MemorySink) -> None:
    sink.down = True
    for i in range(3):
        pipeline.ingest(request(i), 1)
    time.sleep(0.2)
    assert sink.attempts > 2 and sink.bodies == []
    sink.down = False
    assert pipeline.wait_idle(5.0)
    assert sorted(sink.bodies) == [request(i) for i in range(3)]
    assert pipeline.dead_letters.list() == [] and pipeline.quarantined_spans == 0
    assert all(b.replay for b in sink.batches)  # retried writes deduplicate


def test_a_permanent_error_quarantines_only_the_bad_request(pipeline: Pipeline, sink: MemorySink) -> None:
    sink.gate.clear()
    bodies = [request(i) for i in range(7)]
    bodies.insert(3, b"POISON-request")
    for body in bodies:
        pipeline.ingest(body, 1)
    sink.gate.set()
    assert pipeline.wait_idle(5.0)
    assert sorted(sink.bodies) == sorted(b for b in bodies if b != b"POISON-request")
    (entry,) = pipeline.dead_letters.list()
    assert pipeline.dead_letters.payload(entry.id) == b"POISON-request"
    assert entry.cause == "clickhouse code 444" and "corrupted" in entry.error
    assert pipeline.wal.checkpoint == len(bodies)  # the quarantined record is done with, not replayed
    # written afterwards: the pipeline went on
    pipeline.ingest(request(99), 1)
    assert pipeline.wait_idle(5.0) and request(99) in sink.bodies


def test_error_classes() -> None:
    assert is_permanent(QueryError("x", code=444)) and is_permanent(InputError("x"))
    assert not is_permanent(QueryError("memory limit", code=241))
    assert not is_permanent(StoreUnavailable("down")) and not is_permanent(OSError("disk"))
    assert not is_permanent(QueryError("no code"))
    assert [FAST.delay(n) for n in (1, 2, 3, 9)] == [0.01, 0.02, 0.04, 0.05]


def test_a_full_queue_refuses_and_recovers(tmp_path: Path, sink: MemorySink) -> None:
    p = make_pipeline(tmp_path, sink, max_queue_spans=3)
    sink.gate.clear()
    p.start()
    for i in range(3):
        p.ingest(request(i), 1)
    with pytest.raises(Overloaded, match="queue full"):
        p.ingest(request(3), 1)
    sink.gate.set()
    assert p.wait_idle(5.0)
    p.ingest(request(4), 1)
    assert p.drain(5.0)
    assert request(3) not in sink.bodies and request(4) in sink.bodies


def test_a_writer_without_progress_is_reported_stalled(pipeline: Pipeline, sink: MemorySink) -> None:
    assert not pipeline.stalled
    sink.down = True
    pipeline.ingest(request(0), 1)
    time.sleep(0.5)
    assert pipeline.stalled
    sink.down = False
    assert pipeline.wait_idle(5.0) and not pipeline.stalled


def test_a_stop_with_spans_only_in_the_wal_does_not_claim_drained(tmp_path: Path, sink: MemorySink) -> None:
    p = make_pipeline(tmp_path, sink)
    p.start()
    sink.down = True
    for i in range(3):
        p.ingest(request(i), 1)
    started = time.monotonic()
    assert p.drain(0.3) is False
    assert time.monotonic() - started < 5  # the retry wait is interrupted
    p.wal.close(clean=False)
    again = WriteAheadLog(tmp_path / "wal", fsync=False)
    assert list(again.read(again.open())) == [request(i) for i in range(3)]
    again.close()


def test_dead_letters_list_show_drop(tmp_path: Path) -> None:
    letters = DeadLetters(tmp_path / "dl")
    entry = letters.put(b"bytes", span_count=2, cause="clickhouse code 444", error="corrupt", wal_seq=7)
    assert letters.list() == [entry] and letters.payload(entry.id) == b"bytes"
    with pytest.raises(InputError, match="no dead-letter entry"):
        letters.get("0000000000000-1")
    with pytest.raises(InputError, match="expected"):
        letters.get("../../etc/passwd")
    letters.drop(entry.id)
    assert letters.list() == []


def test_a_resend_is_recognised_in_the_run_after_next(tmp_path: Path) -> None:
    """Killed after the WAL fsync, before the answer; the next run writes the record and is killed
    too (its segment goes once checkpointed); the client's retry reaches the third run."""
    first = WriteAheadLog(tmp_path / "wal", fsync=False, segment_bytes=1)
    first.open()
    first.append(request(1))
    first.close(clean=False)
    second = WriteAheadLog(tmp_path / "wal", fsync=False, segment_bytes=1)
    pending = second.open()
    second.append(request(2))  # rotates: the first segment is now wholly below the checkpoint
    second.mark_written([*pending, 2])
    assert not list((tmp_path / "wal").glob("wal-00000000000000000001.log"))
    second.close(clean=False)
    third = WriteAheadLog(tmp_path / "wal", fsync=False)
    third.open()
    p = Pipeline([], MemorySink(), BatchConfig(timeout=0.01), third, CollectorMetrics(), retry=FAST)
    p.start()
    p.ingest(request(1), 1)  # the retry: acknowledged, not stored again
    p.ingest(request(3), 1)
    assert p.drain(5.0)
    assert p.exporter.bodies == [request(3)]  # type: ignore[attr-defined]
    third.close()


class _HeldSink(MemorySink):
    """Holds the write of each request in ``held`` until its event is set (out-of-order completion)."""

    def __init__(self, consumers: int) -> None:
        super().__init__()
        self.consumers = consumers
        self.held: dict[bytes, threading.Event] = {}

    def consume(self, batch: SpanBatch) -> None:
        event = self.held.get(batch.bodies[0])
        if event is not None:
            event.wait(10)
        super().consume(batch)


def test_several_consumers_write_at_once_and_the_checkpoint_waits_for_the_oldest(tmp_path: Path) -> None:
    sink = _HeldSink(consumers=2)
    sink.held[request(0)] = threading.Event()
    p = make_pipeline(tmp_path, sink, send_batch_size=1)
    p.start()
    p.ingest(request(0), 1)
    time.sleep(0.1)  # request 0 is taken by one writer and held there
    p.ingest(request(1), 1)
    deadline = time.monotonic() + 5
    while sink.bodies != [request(1)]:  # the other writer stores request 1 meanwhile
        assert time.monotonic() < deadline, sink.bodies
        time.sleep(0.01)
    # request 1 is stored, request 0 is not: a crash now must replay request 0
    assert p.wal.checkpoint == 0 and p.queued_spans == 1
    sink.held[request(0)].set()
    assert p.wait_idle(5.0)
    assert sorted(sink.bodies) == [request(0), request(1)] and p.wal.checkpoint == 2
    assert p.drain(5.0)
    p.wal.close()


def test_the_queue_holds_wal_records_not_request_bytes(tmp_path: Path, sink: MemorySink) -> None:
    """A full queue of acknowledged requests stays on disk, not in the heap: queued parts name their WAL
    records, and the writer reads the bytes back for the batch it writes."""
    p = make_pipeline(tmp_path, sink, send_batch_size=3, timeout=5)
    sink.gate.clear()
    p.start()
    for i in range(7):
        p.ingest(request(i), 1)
    with p._cond:
        queued = [batch for _, batch in p._queue]
    assert queued and all(batch.bodies == () and len(batch.wal_seqs) == 1 for batch in queued)
    sink.gate.set()
    assert p.drain(5.0)
    assert sink.bodies == [request(i) for i in range(7)]


class _Stamp:
    """A processor that changes every body it sees (as the seed sampler stamps the spans it flags)."""

    def consume(self, batch: SpanBatch) -> SpanBatch:
        return replace(batch, bodies=tuple(body + b"+stamped" for body in batch.bodies))


def test_a_replayed_backlog_is_queued_as_wal_records_and_written_as_logged(tmp_path: Path) -> None:
    """A crash can leave a full WAL (1 GiB): the next start must not hold it in memory, and the records
    already hold what the processors made of them, so they are not processed twice."""
    first = WriteAheadLog(tmp_path / "wal", fsync=False)
    first.open()
    stamped = Pipeline(
        [_Stamp()], MemorySink(), BatchConfig(timeout=60), first, CollectorMetrics(), retry=FAST
    )
    for i in range(5):
        stamped.ingest(request(i), 1)  # logged stamped; killed before the writer ran
    first.close(clean=False)

    again = WriteAheadLog(tmp_path / "wal", fsync=False)
    sink = MemorySink()
    sink.gate.clear()
    p = Pipeline(
        [_Stamp()], sink, BatchConfig(timeout=0.01, send_batch_size=2), again, CollectorMetrics(), retry=FAST
    )
    p.start()
    assert p.replay(again.open(), lambda _payload: 1) == 5
    with p._cond:
        queued = [batch for _, batch in p._queue]
    assert queued and all(batch.bodies == () and batch.replay for batch in queued)
    sink.gate.set()
    assert p.drain(5.0)
    assert sink.bodies == [request(i) + b"+stamped" for i in range(5)]
    again.close()


def test_a_wal_record_that_does_not_read_back_stops_the_writer_unready(
    tmp_path: Path, sink: MemorySink, caplog: pytest.LogCaptureFixture
) -> None:
    p = make_pipeline(tmp_path, sink, send_batch_size=1000, timeout=5)
    p.start()
    p.ingest(request(0), 1)
    segment = next((tmp_path / "wal").glob("wal-*.log"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # the disk flips a bit of the acknowledged request
    segment.write_bytes(bytes(data))
    with caplog.at_level("CRITICAL", logger="tracelock.collector"):
        assert not p.drain(2.0)
    assert sink.bodies == []
    assert any("record 1" in r.getMessage() and "checksum" in r.getMessage() for r in caplog.records)
    assert p.queued_spans == 1  # still counted: /readyz reports the stalled writer
    p.wal.close()
